/* interp: placeholder until the module lands. */
#include "interp.h"
