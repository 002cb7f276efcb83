#!/usr/bin/env python3
"""Lines of every Swift function body (from its `func`/`init`/`subscript` line to the closing brace).

    Tools/function_lengths.py [--top N] [--max LINES] [DIR ...]   (default DIR: Sources)

Prints the N longest (default 10); with --max, exits 1 when any function is longer.
Strings (with interpolation), raw strings and comments are skipped when braces are matched.
"""
import argparse
import os
import re
import sys

DECL = re.compile(r'^\s*(?:@[\w.]+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|package|open|static|class|'
                  r'mutating|nonmutating|override|final|nonisolated|convenience|required|dynamic|isolated|consuming|borrowing)'
                  r'(?:\([^)]*\))?\s+)*(func\s+[^\s(<]+|init[?!]?|subscript|deinit)')


def code_mask(text):
    """The text with strings and comments blanked out (newlines kept)."""
    out = []
    i, n = 0, len(text)
    stack = []  # 'code' (inside an interpolation: paren depth counted) or string kinds
    depth = [0]
    while i < n:
        c = text[i]
        if stack and stack[-1] in ('"', '"""'):
            quote = stack[-1]
            if c == '\\' and i + 1 < n and text[i + 1] == '(':
                stack.append('(')
                depth.append(0)
                out.append('  ')
                i += 2
                continue
            if c == '\\':
                out.append('  ' if text[i + 1:i + 2] != '\n' else ' \n')
                i += 2
                continue
            if text.startswith(quote, i):
                stack.pop()
                out.append(' ' * len(quote))
                i += len(quote)
                continue
            out.append('\n' if c == '\n' else ' ')
            i += 1
            continue
        if text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
            continue
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(''.join('\n' if ch == '\n' else ' ' for ch in text[i:j]))
            i = j
            continue
        if text.startswith('#"', i):  # raw string #"..."# (no interpolation handled)
            j = text.find('"#', i + 2)
            j = n if j < 0 else j + 2
            out.append(''.join('\n' if ch == '\n' else ' ' for ch in text[i:j]))
            i = j
            continue
        if c == '"':
            quote = '"""' if text.startswith('"""', i) else '"'
            stack.append(quote)
            out.append(' ' * len(quote))
            i += len(quote)
            continue
        if stack and stack[-1] == '(':
            if c == '(':
                depth[-1] += 1
            elif c == ')':
                if depth[-1] == 0:
                    stack.pop()
                    depth.pop()
                    out.append(' ')
                    i += 1
                    continue
                depth[-1] -= 1
        out.append(c)
        i += 1
    return ''.join(out)


def functions(path):
    text = open(path, encoding='utf-8').read()
    masked = code_mask(text)
    lines = masked.split('\n')
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    result = []
    for k, line in enumerate(lines):
        m = DECL.match(line)
        if not m:
            continue
        # The body: the first '{' outside parentheses, before a line that ends the declaration.
        pos, paren = starts[k] + m.end(), 0
        body = None
        while pos < len(masked):
            ch = masked[pos]
            if ch in '([':
                paren += 1
            elif ch in ')]':
                paren -= 1
            elif ch == '{' and paren == 0:
                body = pos
                break
            elif ch == '}' and paren == 0:
                break
            elif ch == '\n' and paren == 0:
                rest = masked[pos + 1:masked.find('\n', pos + 1)].strip()
                if DECL.match(rest) or rest.startswith(('var ', 'let ', 'case ', 'associatedtype ')):
                    break
            pos += 1
        if body is None:
            continue
        level, pos = 0, body
        while pos < len(masked):
            if masked[pos] == '{':
                level += 1
            elif masked[pos] == '}':
                level -= 1
                if level == 0:
                    break
            pos += 1
        end_line = masked.count('\n', 0, pos)
        result.append((end_line - k + 1, path, k + 1, m.group(1)))
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dirs', nargs='*', default=['Sources'])
    ap.add_argument('--top', type=int, default=10)
    ap.add_argument('--max', type=int)
    a = ap.parse_args()
    found = []
    for d in a.dirs:
        for root, _, files in os.walk(d):
            for f in sorted(files):
                if f.endswith('.swift'):
                    found += functions(os.path.join(root, f))
    found.sort(key=lambda r: -r[0])
    for n, path, line, name in found[:a.top]:
        print(f'{n:5d}  {path}:{line}  {name}')
    if a.max is not None:
        over = [r for r in found if r[0] > a.max]
        if over:
            print(f'{len(over)} function(s) longer than {a.max} lines', file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
