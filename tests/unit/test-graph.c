#include "test.h"

TEST(placeholder_graph)
{
    CHECK(1);
}
