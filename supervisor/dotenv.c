/* dotenv: placeholder until the module lands. */
#include "dotenv.h"
