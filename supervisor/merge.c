/* merge: placeholder until the module lands. */
#include "merge.h"
