/* graph: placeholder until the module lands. */
#include "graph.h"
