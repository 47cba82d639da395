#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The error and warning table of docs/troubleshooting.md against the sources.

    troubleshooting.py [--list] SOURCE_DIR... DOC

Reads every C file in each SOURCE_DIR (gst/iiodmabuf, ext/libiio), finds
each text the plugins can show a user, and compares that set with the
messages in the table under the heading "## Errors and warnings" of DOC.
Exits 1 when a message of the sources is missing from the table, or when
the table lists one the sources no longer have. --list prints the
messages found.

What counts as a message:

- the user text (not the debug text) of GST_ELEMENT_ERROR, _WARNING and
  _INFO (also _WITH_DETAILS);
- the format of g_set_error, g_error_new, their _literal forms,
  g_prefix_error and g_propagate_prefixed_error (a GError's message reaches
  the user through an element's error);
- the text given to the wrappers in WRAPPERS (functions that post with
  gst_element_message_full), unwrapping g_strdup_printf, also in each
  branch of a ternary (cond ? g_strdup_printf (...) : g_strdup_printf
  (...)).

A function is looked up in the file that calls it first, so that static
functions of the same name in two files (stamp, drain) stay apart.

A message is its format with the adjacent string literals joined and the
format macros (G_GSIZE_FORMAT, GST_TIME_FORMAT, ...) read as one
conversion. Each printf conversion becomes the placeholder "…" (U+2026),
and conversions with nothing between them become one. An argument whose
text is fixed in the sources is written in instead: a string literal or a
string macro, a ternary whose branches are all such (one message per
branch; ternaries on the same condition choose together), a local variable
set once from one of those, or a call to a function of ours whose every
return is one. A function of ours that formats the text it returns with
g_strdup_printf (describe_heap_problem, say) stays a placeholder, and each
of its formats is a message of its own. A format that is nothing but
placeholders ("%s" of another error's message) is no message.

In the doc, each message is the first cell of a table row, in backquotes,
written as above, e.g. `No IIO device '…'. Devices present: …. Give one by
name, ...`.

A call that posts a message in a way this script does not know (a raw
gst_message_new_error, a message call inside a macro) fails the test, so
that a new kind of message cannot slip past it. Gettext markers _() and
N_() around a format are looked through.
"""

import itertools
import os
import re
import sys

PLACEHOLDER = "\u2026"
HEADING = "## Errors and warnings"

# call name: index of the argument holding the message (a format, or for
# the GST_ELEMENT_* macros a parenthesised "(format, args...)")
MESSAGE_CALLS = {
    "GST_ELEMENT_ERROR": 3,
    "GST_ELEMENT_WARNING": 3,
    "GST_ELEMENT_INFO": 3,
    "GST_ELEMENT_ERROR_WITH_DETAILS": 3,
    "GST_ELEMENT_WARNING_WITH_DETAILS": 3,
    "GST_ELEMENT_INFO_WITH_DETAILS": 3,
    "g_set_error": 3,
    "g_set_error_literal": 3,
    "g_error_new": 2,
    "g_error_new_literal": 2,
    "g_prefix_error": 1,
    "g_propagate_prefixed_error": 2,
}
# functions of ours that post their argument as the message text (by name:
# post_error is ext/libiio's)
WRAPPERS = {"post_io_error": 1, "post_error": 2}
# ways to post a message, allowed only inside a wrapper
RAW_POSTERS = {
    "gst_element_message_full", "gst_element_message_full_with_details",
    "gst_message_new_error", "gst_message_new_warning",
    "gst_message_new_info", "gst_message_new_error_with_details",
    "gst_message_new_warning_with_details", "g_error_new_valist",
    "g_set_error_valist",
}
# printf length macros: each reads as one conversion with the "%" before it
FORMAT_MACROS = {
    "G_GSIZE_FORMAT", "G_GSSIZE_FORMAT", "G_GUINT64_FORMAT",
    "G_GINT64_FORMAT", "G_GUINT32_FORMAT", "G_GINT32_FORMAT",
    "G_GUINT16_FORMAT", "G_GINT16_FORMAT", "G_GOFFSET_FORMAT",
    "G_GUINTPTR_FORMAT", "G_GINTPTR_FORMAT", "GST_TIME_FORMAT",
    "GST_STIME_FORMAT", "GST_PTR_FORMAT", "GST_SEGMENT_FORMAT",
    "GST_FOURCC_FORMAT",
}
CONVERSION = re.compile(r"%(%|[-+ #0']*(\d+|\*)?(\.(\d+|\*))?"
                        r"(hh|h|ll|l|L|q|j|z|t)?([diouxXeEfFgGaAcspn]))")

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<pp>^[ \t]*\#(?:\\\n|[^\n])*)
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<char>'(?:\\.|[^'\\\n])*')
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<number>\.?\d[\w.]*)
  | (?P<op>->|\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^!=<>]=
       |\.\.\.|[{}()\[\];,.?:~!%^&*+\-/<>=|])
""", re.X | re.S | re.M)


class Fail(Exception):
    pass


def c_unescape(body):
    """The text of a C string literal's body."""
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'",
              "a": "\a", "0": "\0", "r": "\r"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in simple:
                out.append(simple[nxt])
                i += 2
                continue
            raise Fail("unknown escape \\%s in \"%s\"" % (nxt, body))
        out.append(c)
        i += 1
    return "".join(out)


class Tok:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind, self.text, self.line = kind, text, line

    def __repr__(self):
        return self.text


def tokenize(text, path):
    toks, macros, pos, line = [], {}, 0, 1
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise Fail("%s:%d: cannot read %r" % (path, line, text[pos:pos + 20]))
        kind = m.lastgroup
        if kind == "pp":
            pp = m.group().replace("\\\n", " ")
            hidden = set(re.findall(r"\w+", pp)) & (
                set(MESSAGE_CALLS) | set(WRAPPERS) | RAW_POSTERS)
            if hidden:
                raise Fail("%s:%d: a macro calls %s: this test cannot read "
                           "messages in macros" % (path, line,
                                                   ", ".join(sorted(hidden))))
            d = re.match(r'\s*#\s*define\s+(\w+)\s+((?:"(?:\\.|[^"\\])*"\s*)+)$',
                         pp)
            if d:
                macros[d.group(1)] = "".join(
                    c_unescape(s) for s in re.findall(r'"((?:\\.|[^"\\])*)"',
                                                      d.group(2)))
        elif kind not in ("ws", "comment"):
            toks.append(Tok(kind, m.group(), line))
        line += m.group().count("\n")
        pos = m.end()
    return toks, macros


def matching(toks, i):
    """Index of the bracket closing the one at i."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = [pairs[toks[i].text]]
    for j in range(i + 1, len(toks)):
        t = toks[j].text
        if toks[j].kind == "op" and t in pairs:
            stack.append(pairs[t])
        elif toks[j].kind == "op" and t in (")", "]", "}"):
            if t != stack.pop():
                raise Fail("unbalanced %s at line %d" % (t, toks[j].line))
            if not stack:
                return j
    raise Fail("unclosed bracket at line %d" % toks[i].line)


def split_top(toks, sep):
    """Splits a token list at the top-level separators @sep."""
    parts, depth, cur = [], 0, []
    for t in toks:
        if t.kind == "op" and t.text in "([{":
            depth += 1
        elif t.kind == "op" and t.text in ")]}":
            depth -= 1
        if depth == 0 and t.kind == "op" and t.text == sep:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    return parts


def strip_parens(toks):
    while (len(toks) >= 2 and toks[0].text == "(" and
           matching(toks, 0) == len(toks) - 1):
        toks = toks[1:-1]
    return toks


def call_args(toks, i):
    """Arguments of the call whose name is at i (its "(" at i + 1)."""
    end = matching(toks, i + 1)
    inner = toks[i + 2:end]
    return (split_top(inner, ",") if inner else []), end


def unmark(toks):
    """The tokens inside a gettext marker, _("...") or N_("...")."""
    while (len(toks) >= 3 and toks[0].text in ("_", "N_") and
           toks[1].text == "(" and matching(toks, 1) == len(toks) - 1):
        toks = toks[2:-1]
    return toks


def src(toks):
    return " ".join(t.text for t in toks)


class Function:
    def __init__(self, name, body, path, returns_text):
        self.name, self.body, self.path = name, body, path
        self.returns_text = returns_text


class Sources:
    """The C files of the plugins: tokens, functions, string macros.
    Files are named relative to the directories' common parent (the file
    name alone for one directory)."""

    def __init__(self, directories):
        self.macros, self.functions = {}, []
        self.by_name = {}           # name -> [Function]
        root = os.path.commonpath([os.path.abspath(d) for d in directories])
        for directory in directories:
            for name in sorted(os.listdir(directory)):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(directory, name)
                label = os.path.relpath(os.path.abspath(path), root) \
                    if len(directories) > 1 else name
                with open(path, encoding="utf-8") as f:
                    toks, macros = tokenize(f.read(), label)
                self.macros.update(macros)
                if name.endswith(".c"):
                    self.find_functions(label, toks)

    def function(self, name, path):
        """The function @name as the file @path sees it: its own, else the
        one defined elsewhere; None if there is none."""
        found = self.by_name.get(name, [])
        own = [f for f in found if f.path == path]
        if own:
            return own[0]
        if len(found) > 1:
            raise Fail("%s calls %s, which %s define: this test cannot tell "
                       "which" % (path, name,
                                  " and ".join(f.path for f in found)))
        return found[0] if found else None

    def find_functions(self, path, toks):
        depth, i = 0, 0
        while i < len(toks):
            t = toks[i]
            if t.text == "{" and depth == 0:
                # a function body: "name ( params ) {"
                j = i - 1
                if toks[j].text == ")":
                    k = j
                    while k >= 0 and not (toks[k].text == "(" and
                                          matching(toks, k) == j):
                        k -= 1
                    name = toks[k - 1].text
                    head = []
                    h = k - 2
                    while h >= 0 and toks[h].text not in (";", "}"):
                        head.insert(0, toks[h].text)
                        h -= 1
                    end = matching(toks, i)
                    returns_text = "gchar" in head and "*" in head
                    func = Function(name, toks[i + 1:end], path,
                                    returns_text)
                    self.functions.append(func)
                    self.by_name.setdefault(name, []).append(func)
                    i = end + 1
                    continue
            if t.text in "([{":
                depth += 1
            elif t.text in ")]}":
                depth -= 1
            i += 1


class Alternatives:
    """What an argument may read: a list of (text or None) with the
    condition chain that chooses among them (None: no choice)."""

    def __init__(self, texts, key=None):
        self.texts, self.key = texts, key


class Extractor:
    def __init__(self, sources):
        self.s = sources
        self.messages = {}          # text -> set of "file:line"
        self.helpers_done = set()

    # --- arguments ----------------------------------------------------------

    def literal(self, toks):
        """The text of adjacent string literals and string macros, or None."""
        toks = unmark(toks)
        if not toks:
            return None
        parts = []
        for t in toks:
            if t.kind == "string":
                parts.append(c_unescape(t.text[1:-1]))
            elif t.kind == "ident" and t.text in self.s.macros:
                parts.append(self.s.macros[t.text])
            else:
                return None
        return "".join(parts)

    def ternary(self, toks):
        """[(condition, branch tokens)...] of a top-level ternary chain."""
        chain = []
        while True:
            depth, q = 0, None
            for i, t in enumerate(toks):
                if t.text in "([{":
                    depth += 1
                elif t.text in ")]}":
                    depth -= 1
                elif depth == 0 and t.text == "?":
                    q = i
                    break
            if q is None:
                chain.append((None, toks))
                return chain
            # the ":" matching this "?"
            depth, nested, c = 0, 0, None
            for i in range(q + 1, len(toks)):
                t = toks[i].text
                if t in "([{":
                    depth += 1
                elif t in ")]}":
                    depth -= 1
                elif depth == 0 and t == "?":
                    nested += 1
                elif depth == 0 and t == ":":
                    if nested == 0:
                        c = i
                        break
                    nested -= 1
            chain.append((src(toks[:q]), strip_parens(toks[q + 1:c])))
            toks = strip_parens(toks[c + 1:])

    def local_value(self, name, func):
        """The expression a local is set from, if it is set once."""
        body, found = func.body, []
        for i in range(len(body) - 1):
            if (body[i].kind == "ident" and body[i].text == name and
                    body[i + 1].text == "=" and
                    (i == 0 or body[i - 1].text not in ("->", "."))):
                j, depth = i + 2, 0
                while j < len(body):
                    t = body[j].text
                    if t in "([{":
                        depth += 1
                    elif t in ")]}":
                        depth -= 1
                    if depth < 0 or (depth == 0 and t in (",", ";")):
                        break
                    j += 1
                found.append(body[i + 2:j])
        return found[0] if len(found) == 1 else None

    def resolve(self, toks, func, depth=0):
        """Alternatives of an argument."""
        toks = strip_parens(toks)
        if depth > 8:
            return Alternatives([None])
        text = self.literal(toks)
        if text is not None:
            return Alternatives([text])
        chain = self.ternary(toks)
        if len(chain) > 1:
            texts = []
            for _, branch in chain:
                alt = self.resolve(branch, func, depth + 1)
                if len(alt.texts) != 1 or alt.texts[0] is None:
                    return Alternatives([None])
                texts.append(alt.texts[0])
            return Alternatives(texts, tuple(c for c, _ in chain))
        if len(toks) == 1 and toks[0].kind == "ident" and func:
            value = self.local_value(toks[0].text, func)
            if value is not None:
                return self.resolve(value, func, depth + 1)
        if (len(toks) >= 3 and toks[0].kind == "ident" and
                toks[1].text == "(" and matching(toks, 1) == len(toks) - 1):
            name = toks[0].text
            if name == "g_strdup":
                return self.resolve(toks[2:-1], func, depth + 1)
            called = self.s.function(name, func.path if func else None)
            if called:
                return self.helper(called, depth)
        return Alternatives([None])

    def returns(self, func):
        body, out = func.body, []
        for i, t in enumerate(body):
            if t.kind == "ident" and t.text == "return":
                j = i + 1
                while body[j].text != ";":
                    j += 1
                out.append(body[i + 1:j])
        return out

    def helper(self, func, depth):
        """A function of ours in a message: its texts, or a placeholder
        (and then its formats are messages of their own)."""
        if not func.returns_text:
            return Alternatives([None])
        texts, fixed = [], True
        for ret in self.returns(func):
            alt = self.resolve(ret, func, depth + 1)
            if None in alt.texts:
                fixed = False
                break
            texts.extend(alt.texts)
        if fixed and texts:
            return Alternatives(texts, ("call", func.name, id(texts)))
        if (func.path, func.name) not in self.helpers_done:
            self.helpers_done.add((func.path, func.name))
            body = func.body
            for i, t in enumerate(body):
                if t.text == "g_strdup_printf" and body[i + 1].text == "(":
                    args, _ = call_args(body, i)
                    self.message(args, func, "%s:%d" % (func.path, t.line))
        return Alternatives([None])

    # --- formats ------------------------------------------------------------

    def formats(self, toks):
        """The format's alternatives: [(condition, format text)]."""
        out = []
        for cond, branch in self.ternary(strip_parens(toks)):
            branch = unmark(branch)
            parts = []
            for t in branch:
                if t.kind == "string":
                    parts.append(c_unescape(t.text[1:-1]))
                elif t.kind == "ident" and t.text in FORMAT_MACROS:
                    parts.append("d")       # with the "%" before: one conversion
                elif t.kind == "ident" and t.text in self.s.macros:
                    parts.append(self.s.macros[t.text].replace("%", "%%"))
                else:
                    raise Fail("line %d: cannot read the format %s" %
                               (t.line, src(branch)))
            out.append((cond, "".join(parts)))
        return out

    def message(self, args, func, where):
        """Records the messages of a format and its arguments."""
        for _, fmt in self.formats(args[0]):
            pieces, values, pos = [], [], 0
            for m in CONVERSION.finditer(fmt):
                pieces.append(fmt[pos:m.start()])
                pos = m.end()
                if m.group(1) == "%":
                    pieces[-1] += "%"
                    continue
                if "*" in m.group(0):
                    raise Fail("%s: a * width is not supported" % where)
                n = len(values) + 1
                if n >= len(args):
                    raise Fail("%s: the format has more conversions than "
                               "arguments" % where)
                values.append(self.resolve(args[n], func))
            pieces.append(fmt[pos:])
            self.combine(pieces, values, where)

    def combine(self, pieces, values, where):
        keys = []                   # one choice per condition chain
        for v in values:
            if v.key is not None and v.key not in keys:
                keys.append(v.key)
        sizes = {k: next(len(v.texts) for v in values if v.key == k)
                 for k in keys}
        for choice in itertools.product(*(range(sizes[k]) for k in keys)):
            chosen = dict(zip(keys, choice))
            out = [pieces[0]]
            for v, piece in zip(values, pieces[1:]):
                text = v.texts[chosen[v.key]] if v.key is not None else \
                    v.texts[0]
                out.append(PLACEHOLDER if text is None else text)
                out.append(piece)
            text = re.sub(PLACEHOLDER + "+", PLACEHOLDER, "".join(out))
            if re.sub(r"[\W_]", "", text.replace(PLACEHOLDER, "")):
                self.messages.setdefault(text, set()).add(where)

    # --- calls --------------------------------------------------------------

    def run(self):
        for func in self.s.functions:
            self.scan(func)
        return self.messages

    def scan(self, func):
        body = func.body
        for i, t in enumerate(body):
            if t.kind != "ident" or i + 1 >= len(body) or body[i + 1].text != "(":
                continue
            where = "%s:%d" % (func.path, t.line)
            if t.text in RAW_POSTERS and func.name not in WRAPPERS:
                raise Fail("%s: %s posts a message this test cannot read: "
                           "call it from a wrapper listed in WRAPPERS" %
                           (where, t.text))
            index = MESSAGE_CALLS.get(t.text, WRAPPERS.get(t.text))
            if index is None:
                continue
            args, _ = call_args(body, i)
            text = strip_parens(args[index])
            if t.text.startswith("GST_ELEMENT_"):
                if src(text) == "NULL":
                    continue
                fmt_args = split_top(text, ",")
            elif t.text in WRAPPERS:
                self.wrapped(text, func, where)
                continue
            else:
                fmt_args = [text] + args[index + 1:]
            self.message(fmt_args, func, where)

    def wrapped(self, toks, func, where):
        """The text given to a wrapper: a format, a g_strdup_printf, or a
        ternary of them."""
        for _, branch in self.ternary(toks):
            branch = strip_parens(branch)
            if (len(branch) >= 3 and branch[0].text == "g_strdup_printf" and
                    branch[1].text == "(" and
                    matching(branch, 1) == len(branch) - 1):
                fmt_args, _ = call_args(branch, 0)
            else:
                fmt_args = [branch]
            self.message(fmt_args, func, where)


def doc_messages(path):
    """The first cells of the table rows under HEADING, and any row that
    is not one message with its cause and fix."""
    rows, bad, inside = {}, [], False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith("## "):
                inside = line.startswith(HEADING)
                continue
            if not inside or not line.startswith("|"):
                continue
            cells = [c.strip() for c in
                     re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            if set(cells[0]) <= set("-: ") or cells[0] == "message":
                continue
            m = re.fullmatch(r"`([^`]+)`", cells[0])
            if not m or len(cells) < 3 or not all(cells[1:]):
                bad.append("%s:%d: a row must be | `message` | ... | with "
                           "cells that are not empty" % (path, n))
                continue
            if m.group(1) in rows:
                bad.append("%s:%d: listed twice (first at line %d): %s" %
                           (path, n, rows[m.group(1)], m.group(1)))
            rows[m.group(1)] = n
    return rows, bad


def main(argv):
    listing = "--list" in argv
    argv = [a for a in argv if a != "--list"]
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    doc = argv[-1]
    try:
        found = Extractor(Sources(argv[1:-1])).run()
    except Fail as e:
        print("FAIL: %s" % e)
        return 1
    if listing:
        for text in sorted(found):
            print("%s\t%s" % (", ".join(sorted(found[text])), text))
        return 0
    listed, bad = doc_messages(doc)
    missing = sorted(set(found) - set(listed))
    stale = sorted(set(listed) - set(found))
    for text in missing:
        print("FAIL: not in %s (%s): `%s`" %
              (doc, ", ".join(sorted(found[text])), text))
    for text in stale:
        print("FAIL: %s:%d lists a message the sources do not have: `%s`" %
              (doc, listed[text], text))
    for line in bad:
        print("FAIL: %s" % line)
    if not listed:
        print("FAIL: no table under '%s' in %s" % (HEADING, doc))
    ok = not (missing or stale or bad) and listed
    print("%s: %d messages in the sources, %d in the table, %d missing, "
          "%d stale" % ("ok" if ok else "FAIL", len(found), len(listed),
                        len(missing), len(stale)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
