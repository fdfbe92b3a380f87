#include "test.h"

TEST(placeholder_node)
{
    CHECK(1);
}
