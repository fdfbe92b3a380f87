/* ignore: gitignore rules for watched trees. Every pattern remembers the
 * folder it applies to (its base, absolute); a path is matched against the
 * patterns whose base is above it, last match first, so that the last
 * matching pattern decides as in git. A path below an ignored folder is
 * ignored whatever comes later (git does not descend into such folders
 * either), which is also what lets the watcher prune them.
 *
 * Most real patterns are plain names ("node_modules"), "*.ext" or "name*":
 * those are compared as strings on the last component; the rest go through
 * a small glob matcher with git's `**` forms. */
#include "watch/ignore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <unistd.h>

#define GITIGNORE_MAX ((size_t)1 << 20) /* a larger .gitignore is not read */

typedef enum PatKind {
    PK_LITERAL, /* no wildcard: compared as a string */
    PK_SUFFIX,  /* "*rest", rest without wildcards, unanchored: ends with rest */
    PK_PREFIX,  /* "rest*", likewise: starts with rest */
    PK_GLOB,
} PatKind;

typedef struct IgPattern {
    char *base;      /* absolute folder the pattern applies to, no trailing '/' */
    size_t base_len; /* 0 for "/" */
    char *pat;       /* without '!', a leading '/' or a trailing '/' */
    char *lit;       /* PK_LITERAL/SUFFIX/PREFIX: the literal part, unescaped */
    size_t lit_len;
    PatKind kind;
    bool negate;
    bool dir_only; /* trailing '/' */
    bool anchored; /* a '/' at the start or in the middle: relative to base */
} IgPattern;

typedef struct PatVec {
    IgPattern *v;
    size_t n, cap;
} PatVec;

struct Ignore {
    char *root;
    size_t root_len;
    PatVec ign;
    PatVec inc;
    /* After ignore_load_parent_gitignores: where the .gitignore files a
     * walk finds later go, before the patterns added since. */
    size_t git_at;
    bool git_slot;
};

/* The built-in defaults (see ignore.h). Folders are dir-only, so that a
 * file called "build" (a script) still counts. "#*#" is escaped: a leading
 * '#' would start a comment. */
static const char *const default_patterns[] = {
    ".git",      ".hg/",     ".svn/",         ".DS_Store",      "*.swp",         "*.swo",
    "*.swx",     "*~",       ".#*",           "\\#*#",          "4913",          "__pycache__/",
    "*.pyc",     "node_modules/", ".venv/",   "venv/",          ".tox/",         ".mypy_cache/",
    ".pytest_cache/", "dist/", "build/",      "target/",        ".idea/",        ".vscode/",
};

/* ---- matching ---- */

static bool has_wildcard(const char *s)
{
    return strpbrk(s, "*?[\\") != NULL;
}

/* git's wildmatch, as far as gitignore needs it: `*` and `?` stay within a
 * component, `[...]` is a class, `\` escapes; "**" as a whole component
 * spans any number of folders (zero or more when followed by '/'; at the
 * end it takes everything inside the folder before it). Any other "**" is
 * a plain `*`. */
static bool glob_at(const char *pstart, const char *p, const char *s)
{
    for (;;) {
        switch (*p) {
        case '\0':
            return *s == '\0';
        case '*':
            if (p[1] == '*' && (p == pstart || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')) {
                if (p[2] == '\0')
                    return true;
                const char *q = p + 3;
                for (const char *t = s;;) {
                    if (glob_at(pstart, q, t))
                        return true;
                    t = strchr(t, '/');
                    if (!t)
                        return false;
                    t++;
                }
            }
            while (*p == '*')
                p++;
            for (const char *t = s;; t++) {
                if (glob_at(pstart, p, t))
                    return true;
                if (*t == '\0' || *t == '/')
                    return false;
            }
        case '?':
            if (*s == '\0' || *s == '/')
                return false;
            p++, s++;
            break;
        case '[': {
            size_t n = glob_class_len(p, true);
            if (n == 0) { /* an unclosed '[' is itself */
                if (*s != '[')
                    return false;
                p++, s++;
                break;
            }
            if (*s == '\0' || *s == '/' || !glob_class_has(p, n, (unsigned char)*s, true))
                return false;
            p += n, s++;
            break;
        }
        default:
            if (*p == '\\' && p[1])
                p++;
            if (*p != *s)
                return false;
            p++, s++;
            break;
        }
    }
}

/* path relative to the pattern's base, or NULL when outside it (or the
 * base itself, which no pattern names). */
static const char *rel_to_base(const IgPattern *pt, const char *path)
{
    if (pt->base_len == 0)
        return path[0] == '/' && path[1] ? path + 1 : NULL;
    if (strncmp(path, pt->base, pt->base_len) != 0 || path[pt->base_len] != '/' ||
        path[pt->base_len + 1] == '\0')
        return NULL;
    return path + pt->base_len + 1;
}

static bool pattern_match(const IgPattern *pt, const char *path, bool is_dir)
{
    if (pt->dir_only && !is_dir)
        return false;
    const char *rel = rel_to_base(pt, path);
    if (!rel)
        return false;
    const char *subject = rel;
    if (!pt->anchored) {
        const char *slash = strrchr(rel, '/');
        if (slash)
            subject = slash + 1;
    }
    switch (pt->kind) {
    case PK_LITERAL:
        return streq(subject, pt->lit);
    case PK_SUFFIX: {
        size_t n = strlen(subject);
        return n >= pt->lit_len && memcmp(subject + n - pt->lit_len, pt->lit, pt->lit_len) == 0;
    }
    case PK_PREFIX:
        return strncmp(subject, pt->lit, pt->lit_len) == 0;
    case PK_GLOB:
        return glob_at(pt->pat, pt->pat, subject);
    }
    return false;
}

/* The last pattern of v matching path decides: 1 matched (ignored, or
 * included), 0 matched by a negation, -1 no pattern matched. */
static int patvec_decide(const PatVec *v, const char *path, bool is_dir)
{
    for (size_t i = v->n; i-- > 0;)
        if (pattern_match(&v->v[i], path, is_dir))
            return v->v[i].negate ? 0 : 1;
    return -1;
}

/* Whether a file is named by an include pattern, itself or through one of
 * the folders above it (below root). */
static bool included(const Ignore *ig, const char *path)
{
    if (patvec_decide(&ig->inc, path, false) == 1)
        return true;
    _cleanup_free_ char *buf = xstrdup(path);
    size_t start = str_startswith(path, ig->root) ? ig->root_len : 0;
    for (char *slash = strchr(buf + start + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        int d = patvec_decide(&ig->inc, buf, true);
        *slash = '/';
        if (d == 1)
            return true;
    }
    return false;
}

bool ignore_match_entry(const Ignore *ig, const char *path, bool is_dir)
{
    if (!ig)
        return false;
    if (patvec_decide(&ig->ign, path, is_dir) == 1)
        return true;
    if (!is_dir && ig->inc.n > 0 && !included(ig, path))
        return true;
    return false;
}

bool ignore_match(const Ignore *ig, const char *path, bool is_dir)
{
    if (!ig)
        return false;
    /* The folders between root and path, top down: one ignored hides all
     * below it. root itself and what is above it are not judged. */
    size_t start = 0;
    if (str_startswith(path, ig->root) &&
        (path[ig->root_len] == '/' || path[ig->root_len] == '\0' || ig->root_len == 1))
        start = ig->root_len;
    if (path[start] == '\0')
        return false;
    _cleanup_free_ char *buf = xstrdup(path);
    for (char *slash = strchr(buf + start + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        bool hit = patvec_decide(&ig->ign, buf, true) == 1;
        *slash = '/';
        if (hit)
            return true;
    }
    return ignore_match_entry(ig, path, is_dir);
}

/* ---- building ---- */

static char *base_clean(const char *base)
{
    char *b = path_normalize(base);
    size_t n = strlen(b);
    while (n > 1 && b[n - 1] == '/')
        b[--n] = '\0';
    return b;
}

static void patvec_push(PatVec *v, IgPattern pt)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 32;
        v->v = xrealloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = pt;
}

/* Fills kind and lit from pat and anchored. */
static void pattern_classify(IgPattern *pt)
{
    const char *p = pt->pat;
    size_t n = strlen(p);
    pt->kind = PK_GLOB;
    if (!has_wildcard(p)) {
        pt->kind = PK_LITERAL;
        pt->lit = xstrdup(p);
    } else if (!pt->anchored && p[0] == '*' && n > 1 && !has_wildcard(p + 1)) {
        pt->kind = PK_SUFFIX;
        pt->lit = xstrdup(p + 1);
    } else if (!pt->anchored && n > 1 && p[n - 1] == '*' && p[n - 2] != '\\') {
        char *head = xstrndup(p, n - 1);
        if (!has_wildcard(head)) {
            pt->kind = PK_PREFIX;
            pt->lit = head;
        } else {
            free(head);
        }
    }
    if (pt->lit)
        pt->lit_len = strlen(pt->lit);
}

/* One gitignore line (without its newline) into v. */
static void add_git_line(PatVec *v, const char *base, const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (len == 0 || line[0] == '#')
        return;
    /* Trailing spaces go, unless escaped. */
    while (len > 0 && line[len - 1] == ' ' && !(len >= 2 && line[len - 2] == '\\'))
        len--;
    IgPattern pt = {0};
    if (len > 0 && line[0] == '!') {
        pt.negate = true;
        line++, len--;
    }
    if (len > 0 && line[len - 1] == '/' && !(len >= 2 && line[len - 2] == '\\')) {
        pt.dir_only = true;
        len--;
    }
    if (len > 0 && line[0] == '/') {
        pt.anchored = true;
        line++, len--;
    }
    if (len == 0)
        return;
    if (memchr(line, '/', len))
        pt.anchored = true;
    pt.pat = xstrndup(line, len);
    pt.base = base_clean(base);
    pt.base_len = streq(pt.base, "/") ? 0 : strlen(pt.base);
    pattern_classify(&pt);
    patvec_push(v, pt);
}

static void add_git_text(PatVec *v, const char *base, const char *text)
{
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        add_git_line(v, base, text, len);
        text += len + (nl ? 1 : 0);
    }
}

Ignore *ignore_new(const char *root, bool defaults)
{
    Ignore *ig = xcalloc(1, sizeof *ig);
    ig->root = base_clean(root);
    ig->root_len = strlen(ig->root);
    if (defaults)
        for (size_t i = 0; i < ARRAY_SIZE(default_patterns); i++)
            ignore_add_pattern(ig, ig->root, default_patterns[i]);
    return ig;
}

const char *ignore_root(const Ignore *ig)
{
    return ig->root;
}

void ignore_add_text(Ignore *ig, const char *base, const char *text)
{
    add_git_text(&ig->ign, base, text);
}

void ignore_add_pattern(Ignore *ig, const char *base, const char *pattern)
{
    add_git_line(&ig->ign, base, pattern, strlen(pattern));
}

void ignore_add_include(Ignore *ig, const char *pattern)
{
    add_git_line(&ig->inc, ig->root, pattern, strlen(pattern));
}

/* Adds the .gitignore (or other exclude file) at path, if readable. */
static void load_file(Ignore *ig, const char *path, const char *base)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    if (read_file(path, GITIGNORE_MAX, &text, &len) < 0 || !text)
        return;
    add_git_text(&ig->ign, base, text);
}

/* The .gitignore files above root, up to the repository's top (the first
 * folder upward holding .git), top down; and the repository's
 * .git/info/exclude first. Nothing when root is not in a repository. */
static void load_parents(Ignore *ig)
{
    StrVec dirs = {0};
    _cleanup_free_ char *d = xstrdup(ig->root);
    bool found = false;
    for (;;) {
        _cleanup_free_ char *git = path_join(d, ".git");
        if (access(git, F_OK) == 0) {
            found = true;
            break;
        }
        if (streq(d, "/"))
            break;
        char *up = path_dirname(d);
        free(d);
        d = up;
        strvec_push(&dirs, d);
    }
    if (found) {
        _cleanup_free_ char *exclude = path_join(d, ".git/info/exclude");
        load_file(ig, exclude, d);
        for (size_t i = dirs.n; i-- > 0;) {
            _cleanup_free_ char *f = path_join(dirs.v[i], ".gitignore");
            load_file(ig, f, dirs.v[i]);
        }
    }
    strvec_free(&dirs);
}

struct dent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* A walk loading .gitignore files: the path being walked, a getdents
 * buffer, and a stack of subfolder names still to visit (NUL-separated). */
typedef struct LoadWalk {
    Ignore *ig;
    char *dents;
    char *names;
    size_t names_len, names_cap;
    char path[PATH_MAX];
} LoadWalk;

#define LOAD_DENTS_SIZE ((size_t)32 << 10)

/* Reads the folder open at fd (closed here; path[0..len) is its path): its
 * .gitignore first, then each subfolder not ignored by now. getdents64
 * directly: no stat, no allocation per entry. */
static void load_walk(LoadWalk *k, int fd, size_t len)
{
    size_t mark = k->names_len;
    bool has_gitignore = false;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, k->dents, LOAD_DENTS_SIZE);
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            struct dent64 *e = (struct dent64 *)(k->dents + off);
            off += e->d_reclen;
            const char *name = e->d_name;
            if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
                continue;
            unsigned char type = e->d_type;
            if (type == DT_UNKNOWN) {
                struct stat st;
                if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                    continue;
                type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
            }
            if (type == DT_REG && streq(name, ".gitignore")) {
                has_gitignore = true;
            } else if (type == DT_DIR) {
                size_t nl = strlen(name);
                if (k->names_len + nl + 1 > k->names_cap) {
                    k->names_cap = (k->names_len + nl + 1) * 2 + 4096;
                    k->names = xrealloc(k->names, k->names_cap);
                }
                memcpy(k->names + k->names_len, name, nl + 1);
                k->names_len += nl + 1;
            }
        }
    }
    if (has_gitignore && len + sizeof "/.gitignore" <= PATH_MAX) {
        memcpy(k->path + len, "/.gitignore", sizeof "/.gitignore");
        k->path[len] = '\0';
        char *base = xstrdup(len ? k->path : "/");
        k->path[len] = '/';
        load_file(k->ig, k->path, base);
        free(base);
        k->path[len] = '\0';
    }
    for (size_t o = mark; o < k->names_len;) {
        const char *name = k->names + o;
        size_t nl = strlen(name);
        o += nl + 1;
        if (len + 1 + nl >= PATH_MAX)
            continue;
        k->path[len] = '/';
        memcpy(k->path + len + 1, name, nl + 1);
        if (!ignore_match_entry(k->ig, k->path, true)) {
            int cfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd >= 0)
                load_walk(k, cfd, len + 1 + nl);
        }
        k->path[len] = '\0';
    }
    k->names_len = mark;
    close(fd);
}

void ignore_load_parent_gitignores(Ignore *ig)
{
    load_parents(ig);
    ig->git_at = ig->ign.n;
    ig->git_slot = true;
}

void ignore_load_folder_gitignore(Ignore *ig, const char *dir)
{
    _cleanup_free_ char *f = path_join(dir, ".gitignore");
    size_t n0 = ig->ign.n;
    load_file(ig, f, dir);
    size_t k = ig->ign.n - n0;
    if (!ig->git_slot || k == 0 || ig->git_at == n0) {
        ig->git_at += k;
        return;
    }
    /* Move the k new patterns from the end to git_at: git's rules keep
     * their place before the ones added after them (a later rule wins). */
    IgPattern *tmp = xmalloc(k * sizeof *tmp);
    memcpy(tmp, ig->ign.v + n0, k * sizeof *tmp);
    memmove(ig->ign.v + ig->git_at + k, ig->ign.v + ig->git_at, (n0 - ig->git_at) * sizeof *tmp);
    memcpy(ig->ign.v + ig->git_at, tmp, k * sizeof *tmp);
    free(tmp);
    ig->git_at += k;
}

void ignore_load_gitignores(Ignore *ig)
{
    load_parents(ig);
    int fd = open(ig->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    LoadWalk *k = xmalloc(sizeof *k);
    k->ig = ig;
    k->dents = xmalloc(LOAD_DENTS_SIZE);
    k->names = NULL;
    k->names_len = k->names_cap = 0;
    size_t len = ig->root_len == 1 ? 0 : ig->root_len; /* "/": children as "/x" */
    memcpy(k->path, ig->root, len);
    k->path[len] = '\0';
    load_walk(k, fd, len);
    free(k->dents);
    free(k->names);
    free(k);
}

/* A .dockerignore's patterns: relative to the context and always anchored
 * there, naming what they match and everything below it. Lines are trimmed
 * and a leading '/' dropped, as the docker CLI does. */
void ignore_load_dockerignore(Ignore *ig, const char *context_dir)
{
    _cleanup_free_ char *f = path_join(context_dir, ".dockerignore");
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    if (read_file(f, GITIGNORE_MAX, &text, &len) < 0 || !text)
        return;
    _cleanup_free_ char *base = base_clean(context_dir);
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *s = line;
        line = nl ? nl + 1 : NULL;
        if (s[0] == '#')
            continue;
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
            s[--n] = '\0';
        IgPattern pt = {.anchored = true};
        if (s[0] == '!') {
            pt.negate = true;
            s++;
            while (*s == ' ' || *s == '\t')
                s++;
        }
        _cleanup_free_ char *clean = path_normalize(s);
        char *c = clean;
        while (*c == '/')
            c++;
        n = strlen(c);
        while (n > 0 && c[n - 1] == '/')
            c[--n] = '\0';
        if (n == 0 || streq(c, "."))
            continue;
        pt.pat = xstrdup(c);
        pt.base = xstrdup(base);
        pt.base_len = streq(base, "/") ? 0 : strlen(base);
        pattern_classify(&pt);
        patvec_push(&ig->ign, pt);
    }
}

static void patvec_free(PatVec *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->v[i].base);
        free(v->v[i].pat);
        free(v->v[i].lit);
    }
    free(v->v);
}

void ignore_free(Ignore *ig)
{
    if (!ig)
        return;
    patvec_free(&ig->ign);
    patvec_free(&ig->inc);
    free(ig->root);
    free(ig);
}
