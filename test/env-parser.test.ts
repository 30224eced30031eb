// Unit tests of parseEnv(): one fixture per edge case of the grammar
// (docs/CONTRACT.md, C-ENV-*), exact expected values.
import { describe, expect, test } from "bun:test";
import { EnvSyntaxError, MAX_ENV_BYTES, parseEnv } from "../src/runner.ts";

const enc = new TextEncoder();
const parse = (text: string | Uint8Array) => parseEnv(typeof text === "string" ? enc.encode(text) : text);
const entries = (text: string | Uint8Array) => [...parse(text)];

/** The EnvSyntaxError that parsing throws, as "line: message". */
function failure(text: string | Uint8Array): string {
  try {
    parse(text);
  } catch (e) {
    if (!(e instanceof EnvSyntaxError)) throw e;
    return `${e.line}: ${e.message}`;
  }
  throw new Error(`parsed without error: ${JSON.stringify(text)}`);
}

describe("C-ENV-1: encoding and size", () => {
  test("C-ENV-1: an empty file is valid and empty", () => expect(entries("")).toEqual([]));
  test("C-ENV-1: a missing final newline is allowed", () => expect(entries("A=1\nB=2")).toEqual([["A", "1"], ["B", "2"]]));
  test("C-ENV-1: UTF-8 inside quotes is kept", () => expect(entries("A='héllo ✓ 日本'\n")).toEqual([["A", "héllo ✓ 日本"]]));
  test("C-ENV-1: invalid UTF-8 is refused with its line", () => {
    expect(failure(new Uint8Array([...enc.encode("A=1\nB='"), 0xff, 0x27, 0x0a]))).toBe("2: invalid UTF-8");
  });
  test("C-ENV-1: a truncated multi-byte sequence is refused", () => {
    expect(failure(new Uint8Array([...enc.encode("A='"), 0xe2, 0x9c, 0x27]))).toBe("1: invalid UTF-8");
  });
  test("C-ENV-1: an overlong encoding of '/' is refused", () => {
    expect(failure(new Uint8Array([...enc.encode("A='"), 0xc0, 0xaf, 0x27]))).toBe("1: invalid UTF-8");
  });
  test("C-ENV-1: a byte order mark is refused", () => {
    expect(failure(new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode("A=1\n")]))).toBe("1: byte order mark is not allowed");
  });
  test("C-ENV-1: CRLF line endings are refused", () => {
    expect(failure("A=1\r\nB=2\r\n")).toBe("1: carriage return (only LF line endings are allowed)");
  });
  test("C-ENV-1: a CR-only file is refused", () => {
    expect(failure("A=1\rB=2\r")).toBe("1: carriage return (only LF line endings are allowed)");
  });
  test("C-ENV-1: a CR inside quotes is refused", () => {
    expect(failure("A=1\nB='x\ry'\n")).toBe("2: carriage return (only LF line endings are allowed)");
  });
  test("C-ENV-1: a NUL byte is refused", () => expect(failure("A='a\0b'\n")).toBe("1: NUL byte"));
  test("C-ENV-1: an escape character is refused", () => expect(failure("A='\x1b[31m'\n")).toBe("1: control character U+001B"));
  test("C-ENV-1: DEL is refused", () => expect(failure("A='\x7f'\n")).toBe("1: control character U+007F"));
  test("C-ENV-1: a C1 control character is refused", () => expect(failure("A='\u0085'\n")).toMatch(/^1: control character/));
  test("C-ENV-1: TAB inside quotes is allowed", () => {
    expect(entries("A='a\tb'\nB=\"c\td\"\n")).toEqual([["A", "a\tb"], ["B", "c\td"]]);
  });
  test("C-ENV-1: TAB in a comment is allowed", () => expect(entries("#\tnote\nA=1\n")).toEqual([["A", "1"]]));
  test("C-ENV-1: TAB outside quotes is refused", () => expect(failure("A=a\tb\n")).toBe("1: blank in unquoted value (quote the value)"));
  test("C-ENV-1: exactly 65536 bytes is accepted", () => {
    const head = "A='";
    const text = head + "x".repeat(MAX_ENV_BYTES - head.length - 2) + "'\n";
    expect(enc.encode(text).length).toBe(MAX_ENV_BYTES);
    expect(parse(text).get("A")!.length).toBe(MAX_ENV_BYTES - 5);
  });
  test("C-ENV-1: 65537 bytes is refused as a whole-file error", () => {
    const text = "A='" + "x".repeat(MAX_ENV_BYTES - 4) + "'\n";
    expect(enc.encode(text).length).toBe(MAX_ENV_BYTES + 1);
    expect(failure(text)).toBe(`0: larger than ${MAX_ENV_BYTES} bytes`);
  });
});

describe("C-ENV-2: line forms", () => {
  test("C-ENV-2: empty lines and comments are skipped", () => {
    expect(entries("\n# comment\n#A=1\n\nB=2\n\n")).toEqual([["B", "2"]]);
  });
  test("C-ENV-2: keys with lower case, digits and underscores", () => {
    expect(entries("_=1\na_B9=2\n__x=3\n")).toEqual([["_", "1"], ["a_B9", "2"], ["__x", "3"]]);
  });
  test("C-ENV-2: a key may not start with a digit", () => {
    expect(failure("9A=1\n")).toBe("1: key must start with a letter or '_', not '9'");
  });
  test("C-ENV-2: a key may not contain '-'", () => expect(failure("A-B=1\n")).toBe("1: character '-' is not allowed in a key"));
  test("C-ENV-2: a key may not contain '.'", () => expect(failure("A.B=1\n")).toBe("1: character '.' is not allowed in a key"));
  test("C-ENV-2: a line without '=' is refused", () => expect(failure("A=1\nJUSTAKEY\n")).toBe("2: expected '=' after 'JUSTAKEY'"));
  test("C-ENV-2: '=' without a key is refused", () => expect(failure("=1\n")).toBe("1: key must start with a letter or '_', not '='"));
  test("C-ENV-2: a comment not in the first column is refused", () => expect(failure("  # c\n")).toBe("1: leading blank"));
  test("C-ENV-2: leading blanks are refused", () => expect(failure("\tA=1\n")).toBe("1: leading blank"));
  test("C-ENV-2: a blank before '=' is refused", () => expect(failure("A =1\n")).toBe("1: blank between key and '='"));
  test("C-ENV-2: a blank after '=' is refused", () => expect(failure("A= 1\n")).toBe("1: blank in unquoted value (quote the value)"));
  test("C-ENV-2: 'export' is refused", () => expect(failure("export A=1\n")).toBe("1: 'export' is not allowed"));
  test("C-ENV-2: a trailing comment is refused", () => expect(failure("A=1 # c\n")).toBe("1: blank in unquoted value (quote the value)"));
  test("C-ENV-2: a trailing blank is refused", () => expect(failure("A=1 \n")).toBe("1: blank in unquoted value (quote the value)"));
  test("C-ENV-2: a trailing blank after quotes is refused", () => {
    expect(failure("A='1' \n")).toBe("1: unexpected ' ' after the closing quote");
  });
});

describe("C-ENV-3: value forms", () => {
  test("C-ENV-3: empty value", () => expect(entries("A=\n")).toEqual([["A", ""]]));
  test("C-ENV-3: unquoted value of the whole safe set", () => {
    const v = "AZaz09_@%+=:,./-";
    expect(entries(`A=${v}\n`)).toEqual([["A", v]]);
  });
  test("C-ENV-3: a URL is a valid unquoted value", () => {
    expect(entries("A=https://example.com/a,b:c@d%2F\n")).toEqual([["A", "https://example.com/a,b:c@d%2F"]]);
  });
  for (const ch of ["~", "$", "`", "*", "?", "[", "]", "{", "}", "(", ")", "<", ">", "|", "&", ";", "!", "#", "\\", "^"]) {
    test(`C-ENV-3: '${ch}' in an unquoted value is refused`, () => {
      expect(failure(`A=a${ch}b\n`)).toBe(`1: character '${ch}' is not allowed in an unquoted value (quote the value)`);
    });
  }
  test("C-ENV-3: non-ASCII in an unquoted value is refused", () => {
    expect(failure("A=é\n")).toBe("1: character 'é' is not allowed in an unquoted value (quote the value)");
  });
  test("C-ENV-3: a quote inside an unquoted value is refused", () => {
    expect(failure("A=a'b'\n")).toBe("1: quote inside an unquoted value");
    expect(failure('A=a"b"\n')).toBe("1: quote inside an unquoted value");
  });
  test("C-ENV-3: empty quoted values", () => expect(entries("A=''\nB=\"\"\n")).toEqual([["A", ""], ["B", ""]]));
});

describe("C-ENV-4: double quotes", () => {
  test("C-ENV-4: the four escapes", () => {
    expect(entries('A="q\\" b\\\\ d\\$ t\\`"\n')).toEqual([["A", 'q" b\\ d$ t`']]);
  });
  test("C-ENV-4: spaces, '#', single quotes and globs are literal", () => {
    expect(entries(`A="a b # 'c' *?[x]~"\n`)).toEqual([["A", "a b # 'c' *?[x]~"]]);
  });
  test("C-ENV-4: an unescaped '$' is refused", () => expect(failure('A="$HOME"\n')).toBe("1: unescaped '$' inside double quotes"));
  test("C-ENV-4: an unescaped backtick is refused", () => expect(failure('A="`id`"\n')).toBe("1: unescaped '`' inside double quotes"));
  test("C-ENV-4: another escape is refused", () => {
    expect(failure('A="a\\nb"\n')).toBe("1: invalid escape '\\n' (only \\\" \\\\ \\$ \\` are allowed)");
  });
  test("C-ENV-4: a backslash at the end of the line is refused (no continuation)", () => {
    expect(failure('A="abc\\\nd"\n')).toBe("1: invalid escape '\\' (only \\\" \\\\ \\$ \\` are allowed)");
  });
  test("C-ENV-4: a value ending in an escaped backslash closes where it should", () => {
    // motdotla/dotenv once ran past such a quote and swallowed the rest of the file.
    expect(entries('A="C:\\\\dir\\\\"\nB=2\n')).toEqual([["A", "C:\\dir\\"], ["B", "2"]]);
  });
  test("C-ENV-4: unterminated double quote", () => expect(failure('A=1\nB="abc\n')).toBe("2: unterminated double quote"));
  test("C-ENV-4: an escaped closing quote leaves it unterminated", () => expect(failure('A="abc\\"\n')).toBe("1: unterminated double quote"));
});

describe("C-ENV-5: single quotes and one string per value", () => {
  test("C-ENV-5: everything is literal inside single quotes", () => {
    expect(entries(`A='$HOME \`id\` \\n "x" # *'\n`)).toEqual([["A", '$HOME `id` \\n "x" # *']]);
  });
  test("C-ENV-5: unterminated single quote", () => expect(failure("A='abc\n")).toBe("1: unterminated single quote"));
  test("C-ENV-5: a multi-line value is refused", () => expect(failure("A='line1\nline2'\n")).toBe("1: unterminated single quote"));
  test("C-ENV-5: two double-quoted strings are refused", () => expect(failure('A="a""b"\n')).toBe("1: only one quoted string per value"));
  test("C-ENV-5: mixed quoted strings are refused", () => expect(failure(`A='a'"b"\n`)).toBe("1: only one quoted string per value"));
  test("C-ENV-5: text after a closing quote is refused", () => expect(failure("A='a'b\n")).toBe("1: unexpected 'b' after the closing quote"));
});

describe("C-ENV-6: duplicate keys", () => {
  test("C-ENV-6: a duplicate key names both lines", () => {
    expect(failure("A=1\nB=2\n\nA=3\n")).toBe("4: duplicate key 'A' (first set on line 1)");
  });
  test("C-ENV-6: keys differing in case are different keys", () => {
    expect(entries("a=1\nA=2\n")).toEqual([["a", "1"], ["A", "2"]]);
  });
});

describe("C-ENV-7: line numbers", () => {
  test("C-ENV-7: the error's line counts empty lines and comments", () => {
    expect(failure("# header\n\nA=1\n\n# x\nB='\n")).toBe("6: unterminated single quote");
  });
  test("C-ENV-7: the error is an EnvSyntaxError carrying the line", () => {
    let caught: unknown;
    try { parse("A=1\nB=$x\n"); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(EnvSyntaxError);
    expect((caught as EnvSyntaxError).line).toBe(2);
  });
});

describe("C-ENV-9: keys are data", () => {
  test("C-ENV-9: __proto__, constructor and prototype are plain keys", () => {
    const env = parse("__proto__=x\nconstructor=y\nprototype=z\nhasOwnProperty=w\n");
    expect([...env]).toEqual([["__proto__", "x"], ["constructor", "y"], ["prototype", "z"], ["hasOwnProperty", "w"]]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.prototype.hasOwnProperty).toBeInstanceOf(Function);
    const asJson = JSON.parse(JSON.stringify(Object.fromEntries(env)));
    expect(Object.keys(asJson)).toEqual(["__proto__", "constructor", "prototype", "hasOwnProperty"]);
    expect(Object.getPrototypeOf(asJson)).toBe(Object.prototype);
  });
  test("C-ENV-9: file order is kept", () => {
    expect([...parse("Z=1\nA=2\nM=3\n").keys()]).toEqual(["Z", "A", "M"]);
  });
});
