// The one list of models a scenario can name.
#pragma once

#include "sim/core/registry.h"

namespace dsim {

void register_builtin_models(ModelRegistry& registry);

}  // namespace dsim
