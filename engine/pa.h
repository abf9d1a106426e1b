// PureAttention: include this one header to use the engine.
#pragma once

#include "engine/autograd/node.h"
#include "engine/core/tensor.h"
#include "engine/ops/op_list.h"
#include "engine/ops/ops.h"
