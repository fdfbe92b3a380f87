#include "test.h"

TEST(placeholder_schema)
{
    CHECK(1);
}
