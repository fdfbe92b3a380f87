#include "test.h"

TEST(placeholder_merge)
{
    CHECK(1);
}
