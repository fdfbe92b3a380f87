/* The pure parts of seed.c: the SQL splitter (quotes, dollar quotes,
 * comments), error positions to lines, the Redis command file parser, and
 * SHA-256 against the standard test vectors. The steps themselves run
 * against real servers in tests/integration/test-seed.sh. */
#include "run/seed.h"
#include "test.h"

static size_t split(const char *sql, SqlStmt **v)
{
    return sql_split(sql, strlen(sql), v);
}

TEST(sql_split_statements_and_lines)
{
    SqlStmt *v;
    size_t n = split("CREATE TABLE a (x int);\n\nINSERT INTO a VALUES (1);\n  SELECT 2", &v);
    REQUIRE(n == 3);
    CHECK(streq(v[0].text, "CREATE TABLE a (x int)"));
    CHECK(v[0].line == 1);
    CHECK(streq(v[1].text, "INSERT INTO a VALUES (1)"));
    CHECK(v[1].line == 3);
    CHECK(streq(v[2].text, "SELECT 2"));
    CHECK(v[2].line == 4);
    sql_stmts_free(v, n);
}

TEST(sql_split_respects_quotes_and_comments)
{
    SqlStmt *v;
    size_t n = split("SELECT 'a;b', 'it''s;', \"we;ird\";\n"
                     "-- a comment; here\n"
                     "/* block; /* nested; */ still; */ SELECT 1;\n"
                     "SELECT E'\\';', 2;\n"
                     "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\n"
                     "SELECT $$;$$;",
                     &v);
    REQUIRE(n == 5);
    CHECK(streq(v[0].text, "SELECT 'a;b', 'it''s;', \"we;ird\""));
    CHECK(str_endswith(v[1].text, "SELECT 1"));
    CHECK(v[1].line == 2); /* starts with its leading comment */
    CHECK(streq(v[2].text, "SELECT E'\\';', 2"));
    CHECK(v[2].line == 4);
    CHECK(str_endswith(v[3].text, "LANGUAGE plpgsql"));
    CHECK(streq(v[4].text, "SELECT $$;$$"));
    CHECK(v[4].line == 6);
    sql_stmts_free(v, n);
}

TEST(sql_split_skips_empty_statements)
{
    SqlStmt *v;
    size_t n = split(";;  -- only a comment\n;\n/* and this */;", &v);
    CHECK(n == 0);
    sql_stmts_free(v, n);
    n = split("SELECT $1::int; SELECT a$b FROM t", &v); /* $1 and a$b are no dollar quotes */
    CHECK(n == 2);
    sql_stmts_free(v, n);
}

TEST(sql_position_to_line)
{
    const char *s = "INSERT INTO t\n  VALUES (1,\n    nope)";
    /* "nope" is at character 32 (1-based). */
    long pos = (long)(strstr(s, "nope") - s) + 1;
    CHECK(sql_position_line(s, 10, pos) == 12);
    CHECK(sql_position_line(s, 10, 1) == 10);
    /* Positions count characters, not bytes. */
    const char *u = "SELECT 'é',\n nope";
    CHECK(sql_position_line(u, 1, 15) == 2);
    CHECK(sql_position_line(u, 1, 12) == 1);
}

TEST(redis_parse_words_quotes_comments)
{
    const char *f = "# a comment\n"
                    "SET greeting \"hello world\"\n"
                    "\n"
                    "HSET user:1 name 'Ada Lovelace'   # trailing\r\n"
                    "SET esc \"a\\tb\\x41\\\"\" plain\\ space\n"
                    "SET empty ''\n";
    RedisCmd *v = NULL;
    char *err = NULL;
    int n = redis_parse(f, strlen(f), &v, &err);
    REQUIRE(n == 4);
    CHECK(v[0].line == 2 && v[0].argv.n == 3 && streq(v[0].argv.v[2], "hello world"));
    CHECK(v[1].line == 4 && v[1].argv.n == 4 && streq(v[1].argv.v[3], "Ada Lovelace"));
    CHECK(v[2].line == 5 && v[2].argv.n == 4);
    CHECK(streq(v[2].argv.v[2], "a\tbA\""));
    CHECK(streq(v[2].argv.v[3], "plain space"));
    CHECK(v[3].argv.n == 3 && streq(v[3].argv.v[2], ""));
    redis_cmds_free(v, (size_t)n);
}

TEST(redis_parse_unterminated_quote)
{
    const char *f = "SET a 1\nSET b \"open\nSET c 3\n";
    RedisCmd *v = NULL;
    char *err = NULL;
    int n = redis_parse(f, strlen(f), &v, &err);
    CHECK(n < 0);
    REQUIRE(err);
    CHECK(streq(err, "line 2: unterminated quote"));
    free(err);
}

static void hex_of(const char *s, size_t len, char out[65])
{
    Sha256 c;
    sha256_init(&c);
    sha256_update(&c, s, len);
    sha256_hex(&c, out);
}

TEST(sha256_vectors)
{
    char h[65];
    hex_of("", 0, h);
    CHECK(streq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    hex_of("abc", 3, h);
    CHECK(streq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), h);
    CHECK(streq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    /* A million 'a's, fed in uneven pieces. */
    Sha256 c;
    sha256_init(&c);
    char buf[997];
    memset(buf, 'a', sizeof buf);
    size_t left = 1000000;
    while (left) {
        size_t k = left < sizeof buf ? left : sizeof buf;
        sha256_update(&c, buf, k);
        left -= k;
    }
    sha256_hex(&c, h);
    CHECK(streq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}
