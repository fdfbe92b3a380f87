/* util: small building blocks shared by every layer. Strings, growable
 * buffers with a hard cap, an arena for trees that die together, vectors of
 * strings, path helpers and edit distance. libc only; nothing here prints or
 * exits except the allocation wrappers, which abort on out-of-memory. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))

/* Cleanup helper in the systemd style: `_cleanup_free_ char *s = ...;`. */
static inline void freep(void *p)
{
    extern void free(void *);
    free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))

static inline void *take_ptr_(void **p)
{
    void *v = *p;
    *p = NULL;
    return v;
}
#define TAKE_PTR(p) take_ptr_((void **)&(p))

/* Allocation: abort on out-of-memory, the only sane answer in a supervisor. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);

bool streq(const char *a, const char *b);
bool strnull_eq(const char *a, const char *b); /* NULL-safe */
bool str_startswith(const char *s, const char *prefix);
bool str_endswith(const char *s, const char *suffix);

/* Arena: bump allocation in chunks, freed all at once. Used for the YAML
 * node trees of one load, which are built, merged and dropped together. */
typedef struct Arena Arena;
Arena *arena_new(void);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t n); /* zeroed, 16-byte aligned */
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) _printf_(2, 3);
size_t arena_used(const Arena *a);

/* StrBuf: a growable byte buffer with a maximum size. Appends past `max`
 * fail with -E2BIG and leave the buffer as it was. max 0 means 64 MiB. */
typedef struct StrBuf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max;
} StrBuf;

void strbuf_init(StrBuf *b, size_t max);
void strbuf_free(StrBuf *b);
void strbuf_reset(StrBuf *b);
int strbuf_append(StrBuf *b, const char *s, size_t n);
int strbuf_puts(StrBuf *b, const char *s);
int strbuf_putc(StrBuf *b, char c);
int strbuf_printf(StrBuf *b, const char *fmt, ...) _printf_(2, 3);
char *strbuf_steal(StrBuf *b); /* returns the string ("" if empty) and resets */

/* StrVec: an owned, NULL-terminated vector of owned strings. */
typedef struct StrVec {
    char **v;
    size_t n;
    size_t cap;
} StrVec;

void strvec_push(StrVec *sv, const char *s);
void strvec_push_take(StrVec *sv, char *s);
void strvec_free(StrVec *sv);
bool strvec_contains(const StrVec *sv, const char *s);
void strvec_sort(StrVec *sv);

/* Paths. All return malloc'd strings. */
char *path_join(const char *dir, const char *rel);  /* rel absolute: rel */
char *path_dirname(const char *path);
const char *path_basename(const char *path); /* points into path */
char *path_normalize(const char *path);      /* folds //, /./ and /../ lexically */
char *path_absolute(const char *base, const char *path); /* join + normalize, ~ expanded */
/* Writes all of data to fd, again on EINTR and, for a full non-blocking
 * terminal, after 1 ms on EAGAIN; gives up silently on other errors. For
 * the commands' own output, not for the supervisor's loop. */
void write_fully(int fd, const void *data, size_t n);
bool path_is_absolute(const char *p);

/* Read a whole file (up to max bytes). 0 or -errno. */
int read_file(const char *path, size_t max, char **ret_data, size_t *ret_len);

/* Levenshtein distance, for "did you mean". */
size_t edit_distance(const char *a, const char *b);

/* Monotonic clock in nanoseconds / milliseconds. */
uint64_t now_ns(void);
/* A span for people: "120 ms" under a second, else "1.5 s". */
void fmt_elapsed(char buf[32], int64_t ns);

/* A glob's bracket expression "[...]" at p: its length through the closing
 * ']' (0 when it never closes), and whether byte c is in it (bytes, not
 * runes). A leading '^' negates; with bang a leading '!' too (git's
 * patterns; docker's take only '^'). */
size_t glob_class_len(const char *p, bool bang);
bool glob_class_has(const char *p, size_t len, unsigned char c, bool bang);
