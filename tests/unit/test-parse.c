#include "test.h"

TEST(placeholder_parse)
{
    CHECK(1);
}
