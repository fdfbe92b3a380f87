/* engine: placeholder until the module lands. */
#include "engine.h"
