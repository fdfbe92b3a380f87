#!/usr/bin/python3
"""The layer rule of supervisor/, checked on the sources and the objects.

Each folder of supervisor/ is a layer; its README.md has a line
"May call: a, b, c" naming the layers below it. This checks, as TAP:
  - every #include "LAYER/x.h" in a layer's files names the layer itself or
    one it may call (and every include of a tend header names its layer);
  - every function a layer's object file uses from tend's own code is
    defined in the layer itself or one it may call (nm on the build);
  - a private header (x-int.h) is included only by files of its own folder;
  - no circle of modules (x.c with x.h), by includes and by symbols;
  - the may-call table itself has no circle.
A module split over several files shares a private header: x-int.h and
every file of its folder that includes it (x.c, x-more.c) are one module
x, so that the calls between its parts make no circle.
Usage: check-layers.py SOURCE_ROOT [BUILD_ROOT]
"""
import os
import re
import subprocess
import sys

src = sys.argv[1]
build = sys.argv[2] if len(sys.argv) > 2 else None
sup = os.path.join(src, "supervisor")
n = 0
failed = False


def ok(cond, what, detail=()):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, what))
    if not cond:
        failed = True
        for d in detail:
            print("#   " + d)


layers = sorted(d for d in os.listdir(sup) if os.path.isdir(os.path.join(sup, d)))
may = {}
bad_readme = []
for layer in layers:
    readme = os.path.join(sup, layer, "README.md")
    m = None
    if os.path.exists(readme):
        m = re.search(r"^May call: *(.*)$", open(readme).read(), re.M)
    if not m:
        bad_readme.append("%s/README.md has no 'May call:' line" % layer)
        may[layer] = set()
        continue
    names = [x.strip() for x in m.group(1).replace("nothing", "").split(",") if x.strip()]
    may[layer] = set(names)
    for x in names:
        if x not in layers:
            bad_readme.append("%s/README.md names an unknown layer %r" % (layer, x))
ok(not bad_readme, "every layer has a README.md saying what it may call", bad_readme)


def reach(layer, seen=None):
    seen = set() if seen is None else seen
    for x in may.get(layer, ()):
        if x not in seen:
            seen.add(x)
            reach(x, seen)
    return seen


loops = [l for l in layers if l in reach(l)]
ok(not loops, "the may-call table has no circle", ["%s reaches itself" % l for l in loops])

# ---- includes ----
files = {}
for layer in layers:
    for f in sorted(os.listdir(os.path.join(sup, layer))):
        if f.endswith((".c", ".h")):
            files["%s/%s" % (layer, f)] = open(os.path.join(sup, layer, f), errors="replace").read()
headers = {os.path.basename(p) for p in files if p.endswith(".h")}
upward, unqualified, private = [], [], []
deps = {}  # module -> modules, by includes
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# The parts of a module split over files: x-int.h and its includers are x.
group = {}
for path, text in files.items():
    if path.endswith("-int.h"):
        group[path[:-2]] = path[:-len("-int.h")]
    for m in INCLUDE.finditer(text):
        inc = m.group(1)
        if inc.endswith("-int.h") and inc.split("/")[0] == path.split("/")[0]:
            group[path[:-2]] = inc[:-len("-int.h")]


def module(path):
    """The module of a file (layer/x.c, layer/x.h) or of an object (layer/x)."""
    base = path[:-2] if path.endswith((".c", ".h")) else path
    return group.get(base, base)


for path, text in files.items():
    layer = path.split("/")[0]
    for m in INCLUDE.finditer(text):
        inc = m.group(1)
        line = text.count("\n", 0, m.start()) + 1
        if "/" not in inc:
            if inc in headers:
                unqualified.append("%s:%d: #include \"%s\" without its layer" % (path, line, inc))
            continue
        to = inc.split("/")[0]
        if to not in layers:
            continue
        if to != layer and to not in may[layer]:
            upward.append("%s:%d: includes %s, but %s may call only: %s"
                          % (path, line, inc, layer, ", ".join(sorted(may[layer])) or "nothing"))
        if inc.endswith("-int.h") and to != layer:
            private.append("%s:%d: includes %s, private to the files of %s/" % (path, line, inc, to))
        if module(inc) != module(path):
            deps.setdefault(module(path), set()).add(module(inc))
ok(not unqualified, "every include of a tend header names its layer", unqualified)
ok(not upward, "no layer includes a header of a layer it may not call", upward)
ok(not private, "a private header (x-int.h) is included only by its own folder", private)


def cycles(graph):
    """Every strongly connected set of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


c = cycles(deps)
ok(not c, "no circle of modules by includes", [" <-> ".join(x) for x in c])

# ---- symbols ----
if not build:
    print("1..%d" % n)
    sys.exit(1 if failed else 0)

objs = {}
for layer in layers:
    d = os.path.join(build, "supervisor", layer)
    if not os.path.isdir(d):
        continue
    for root, _, fs in os.walk(d):
        for f in fs:
            if f.endswith(".c.o") and ".a.p" in root:
                objs["%s/%s" % (layer, f[:-4])] = os.path.join(root, f)
for root, _, fs in os.walk(os.path.join(build, "supervisor", "tend.p")):
    for f in fs:
        if f.endswith(".c.o"):  # meson names them cli_cmd-up.c.o
            name = f[:-4]
            layer, _, rest = name.partition("_")
            objs["%s/%s" % (layer, rest[:-2])] = os.path.join(root, f)
ok(len(objs) > 10, "the objects of the build are there (%d found)" % len(objs))
defined, used = {}, {}
for obj, o in objs.items():
    mod = module(obj)
    out = subprocess.run(["nm", o], capture_output=True, text=True).stdout
    used.setdefault(mod, set())
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "TDBR":
            defined[p[2]] = mod
        elif len(p) == 2 and p[0] == "U":
            used[mod].add(p[1])
sdeps, upcalls = {}, []
for mod, syms in used.items():
    layer = mod.split("/")[0]
    for s in sorted(syms):
        owner = defined.get(s)
        if not owner or owner == mod:
            continue
        sdeps.setdefault(mod, set()).add(owner)
        to = owner.split("/")[0]
        if to != layer and to not in may[layer]:
            upcalls.append("%s calls %s (%s), but %s may call only: %s"
                           % (mod, s, owner, layer, ", ".join(sorted(may[layer])) or "nothing"))
ok(not upcalls, "no layer calls a function of a layer it may not call", upcalls)
c = cycles(sdeps)
ok(not c, "no circle of modules by calls", [" <-> ".join(x) for x in c])
print("1..%d" % n)
sys.exit(1 if failed else 0)
