#include "test.h"

TEST(placeholder_service)
{
    CHECK(1);
}
