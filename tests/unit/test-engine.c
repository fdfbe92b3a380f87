#include "test.h"

TEST(placeholder_engine)
{
    CHECK(1);
}
