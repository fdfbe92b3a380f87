#include "test.h"

TEST(placeholder_util)
{
    CHECK(1);
}
