// --- the whitelist tokenizer of the pages' parsers (interactive.js, interactive_matrix.js) -----
// Numbers, names and the operators a page allows, each a plain record {t, v, at, end}; anything
// else is refused with its column. Nothing the student types is ever evaluated as code.
class ReadError extends Error {}
// "\u2212" is the minus sign symgrad prints (−x, −0.25): copied back, it reads as "-"
const READ_ALIASES = { "**": "^", ".^": "^", ".T": "'", "\u2212": "-" };

// `operators` in the order they are tried (longest first: "**" before "*"); `hint` names them in
// the refusal; `underscore` explains a leading '_' (the scalar page's names).
function readTokens(text, { maxLength, operators, hint, underscore = false }) {
  if (text.length > maxLength) {
    throw new ReadError(`too long: at most ${maxLength} characters (this has ${text.length})`);
  }
  const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
  const NAME = /[A-Za-z][A-Za-z0-9_]*/y;
  const tokens = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t") { i++; continue; }
    NUMBER.lastIndex = i;
    let m = NUMBER.exec(text);
    if (m) {
      let s = m[0]; // 2.*x and 1./x: MATLAB's elementwise operators after a number, where allowed
      const next = text[i + s.length] || "";
      if (s.endsWith(".") && "*/^".includes(next) && operators.includes("." + next)) s = s.slice(0, -1);
      tokens.push({ t: "num", v: parseFloat(s), at: i, end: i + s.length });
      i += s.length;
      continue;
    }
    NAME.lastIndex = i;
    m = NAME.exec(text);
    if (m) { tokens.push({ t: "name", v: m[0], at: i, end: i + m[0].length }); i += m[0].length; continue; }
    const op = operators.find((o) => text.startsWith(o, i) && !(o === ".T" && /[A-Za-z0-9_]/.test(text[i + 2] || "")));
    if (op) {
      tokens.push({ t: READ_ALIASES[op] || op, at: i, end: i + op.length });
      i += op.length;
      continue;
    }
    if (c === "_" && underscore) throw new ReadError(`a name starts with a letter, not '_' (column ${i + 1})`);
    const shown = c.codePointAt(0) < 32 ? "a control character" : `'${c}'`;
    throw new ReadError(`${shown} is not allowed (column ${i + 1}): use numbers, names, ${hint} and parentheses`);
  }
  if (!tokens.length) throw new ReadError("the answer is empty");
  return tokens;
}
