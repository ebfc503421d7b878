/* SPDX-License-Identifier: MIT
 *
 * test_config: config_db_display, which shows a --db value in logs with a
 * PostgreSQL password masked.
 */
#include "config.h"
#include "test.h"

#include <string.h>

static void shows(const char *db, const char *want)
{
    char out[256];
    config_db_display(db, out, sizeof(out));
    CHECK_EQ_STR(out, want);
}

static void test_db_display(void)
{
    shows("./greentrack.db", "./greentrack.db");
    shows("/data/x:y@z.db", "/data/x:y@z.db");
    shows("postgresql://postgres@127.0.0.1:5432/greentrack",
          "postgresql://postgres@127.0.0.1:5432/greentrack");
    shows("postgresql://greentrack:s3cr:et@db:5432/gt?sslmode=require",
          "postgresql://greentrack:***@db:5432/gt?sslmode=require");
    shows("postgres://u:p@h/d", "postgres://u:***@h/d");
    shows("postgresql://u@h:5432/d?sslmode=disable&password=hunter2&x=1",
          "postgresql://u@h:5432/d?sslmode=disable&password=***&x=1");
    shows("postgresql://h:5432/d", "postgresql://h:5432/d");
    char tiny[8];
    config_db_display("postgresql://u:p@h/d", tiny, sizeof(tiny));
    CHECK_EQ_INT((int)strlen(tiny), 7);
}

int main(void)
{
    test_db_display();
    TEST_MAIN_END("test_config");
}
