/* schema: placeholder until the module lands. */
#include "schema.h"
