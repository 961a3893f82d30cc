// symgrad's interactive page for a matrix derivation: step through it, type each derivative and
// its shape, checked offline. Before this file the page defines FN (the registry's functions, from
// symgrad.core.functions) and erf. The page's data (symgrad.teaching.interactive_matrix) holds
// random input matrices with the intermediates' values, and per question the expected values, the
// named mistakes' values (computed in Python by symgrad.teaching.check_matrix) and the values with
// a transpose dropped at a point where every size is equal. The student's text is read by the
// whitelist parser below (tokenizer, recursive descent, tree walker): never evaluated as code.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("symgrad-data").textContent);
  const $ = (id) => document.getElementById(id);
  // A question's context (its names and shapes, the sizes, the functions, the points): its own
  // on a worksheet (q.context), the page's for a derivation.
  function context(c) {
    return { names: new Map(Object.entries(c.names)), shapes: new Map(Object.entries(c.shapes)),
      sizes: new Set(c.sizes), elementwise: new Set(c.functions), special: new Set(c.special),
      points: c.points, square: c.square };
  }
  const PAGE = DATA.points ? context(DATA) : null;
  const QUESTIONS = new Map(DATA.questions.filter((q) => q.matrix || PAGE).map((q) => [q.id, q]));
  const contextOf = (q) => q.ctx || (q.ctx = q.context ? context(q.context) : PAGE);
  const KEY = DATA.key + (PAGE ? "" : ":matrix"); // a worksheet's other answers keep DATA.key
  const MAX_DEPTH = 100;
  const MAX_LENGTH = DATA.max_length || 2000;

  // --- progress, kept in this browser -----------------------------------------------------------
  let store = {};
  function load() {
    try {
      const text = window.localStorage.getItem(KEY);
      const got = text ? JSON.parse(text) : {};
      store = got && typeof got === "object" ? got : {};
    } catch (e) {
      store = {};
    }
    if (!store.answers || typeof store.answers !== "object") store.answers = {};
  }
  function save() {
    try { window.localStorage.setItem(KEY, JSON.stringify(store)); } catch (e) { /* none */ }
  }

  // --- the whitelist parser of the matrix language ----------------------------------------------
  class ShapeError extends Error {}
  const OPERATORS = [".*", "./", ".^", ".T", "**", "+", "-", "\u2212", "*", "/", "^", "(", ")", ",",
    "'"];
  const tokenize = (text) => readTokens(text, { maxLength: MAX_LENGTH, operators: OPERATORS,
    hint: "+ - * / ^ .* ./ .^ '" });

  // A tree node: {k, ..., at, end} with its shape [rows, columns] (size names or "1").
  const SCALAR = ["1", "1"];
  const isScalar = (s) => s[0] === "1" && s[1] === "1";
  const same = (a, b) => a[0] === b[0] && a[1] === b[1];
  function shapeText(s) {
    if (isScalar(s)) return "scalar";
    return s[1] === "1" ? s[0] : `${s[0]}×${s[1]}`;
  }

  function parse(text, ctx) {
    const { names: NAMES, shapes: SHAPES, sizes: SIZES, elementwise: ELEMENTWISE, special: SPECIAL } = ctx;
    const tokens = tokenize(text);
    let p = 0;
    const peek = (t) => p < tokens.length && tokens[p].t === t;
    const where = () => (p < tokens.length ? `column ${tokens[p].at + 1}` : "the end");
    const piece = (n) => text.slice(n.at, n.end).trim();
    function expect(t) {
      if (!peek(t)) throw new ReadError(`expected '${t}' at ${where()}`);
      p++;
    }
    function deep(depth) {
      if (depth > MAX_DEPTH) throw new ReadError(`nested too deeply (more than ${MAX_DEPTH} levels)`);
    }
    function fail(n, message) {
      return new ShapeError(`${piece(n)} at column ${n.at + 1}: ${message}`);
    }
    function conform(n, a, b, what) {
      if (isScalar(a.shape)) return b.shape;
      if (isScalar(b.shape) || same(a.shape, b.shape)) return a.shape;
      throw fail(n, `${piece(a)} is ${shapeText(a.shape)} and ${piece(b)} is ` +
        `${shapeText(b.shape)}; ${what} needs equal shapes (or a scalar)`);
    }
    function binary(op, a, b) {
      const n = { k: "bin", op, a, b, at: a.at, end: b.end };
      if (op === "*" && !isScalar(a.shape) && !isScalar(b.shape)) {
        if (a.shape[1] !== b.shape[0]) {
          throw fail(n, `${piece(a)} is ${shapeText(a.shape)} and ${piece(b)} is ` +
            `${shapeText(b.shape)}; a matrix product needs ${a.shape[1]} = ${b.shape[0]}`);
        }
        n.op = "@";
        n.shape = [a.shape[0], b.shape[1]];
        return n;
      }
      const what = { "+": "a sum", "-": "a difference", ".*": "a Hadamard product",
        "*": "a Hadamard product", "/": "an elementwise division", "./": "an elementwise division" }[op];
      n.op = op === "*" ? ".*" : op === "/" ? "./" : op;
      n.shape = conform(n, a, b, what);
      return n;
    }
    function expr(depth) {
      deep(depth);
      let a = term(depth + 1);
      while (peek("+") || peek("-")) { const op = tokens[p++].t; a = binary(op, a, term(depth + 1)); }
      return a;
    }
    function term(depth) {
      deep(depth);
      let a = unary(depth + 1);
      while (peek("*") || peek("/") || peek(".*") || peek("./")) {
        const op = tokens[p++].t;
        a = binary(op, a, unary(depth + 1));
      }
      return a;
    }
    function unary(depth) {
      deep(depth);
      if (peek("-") || peek("+")) {
        const tok = tokens[p++];
        const a = unary(depth + 1);
        return tok.t === "-" ? { k: "neg", a, shape: a.shape, at: tok.at, end: a.end } : a;
      }
      return power(depth + 1);
    }
    function power(depth) {
      deep(depth);
      const base = postfix(depth + 1);
      if (!peek("^")) return base;
      p++;
      const e = unary(depth + 1);
      const value = e.k === "num" ? e.v : e.k === "neg" && e.a.k === "num" ? -e.a.v : null;
      if (value === null) throw new ReadError(`an exponent must be a number (column ${e.at + 1})`);
      return { k: "pow", a: base, v: value, shape: base.shape, at: base.at, end: e.end };
    }
    function postfix(depth) {
      let a = primary(depth);
      while (peek("'")) {
        const tok = tokens[p++];
        a = { k: "T", a, shape: [a.shape[1], a.shape[0]], at: a.at, end: tok.end };
      }
      return a;
    }
    function call(tok, depth) {
      const name = tok.v;
      if (!ELEMENTWISE.has(name) && !SPECIAL.has(name)) {
        throw new ReadError(`unknown function '${name}'; known: ${[...SPECIAL, ...ELEMENTWISE].join(", ")}`);
      }
      const args = [expr(depth + 1)];
      while (peek(",")) { p++; args.push(expr(depth + 1)); }
      const close = p < tokens.length ? tokens[p] : null;
      expect(")");
      const want = name === "dot" ? 2 : 1;
      if (args.length !== want) throw new ReadError(`${name}() takes ${want} argument${want > 1 ? "s" : ""}`);
      const n = { k: "call", name, args, at: tok.at, end: close.end };
      const [a, b] = args;
      if (name === "transpose") return { k: "T", a, shape: [a.shape[1], a.shape[0]], at: n.at, end: n.end };
      if (name === "dot" && !same(a.shape, b.shape)) {
        throw fail(n, `${piece(a)} is ${shapeText(a.shape)} and ${piece(b)} is ` +
          `${shapeText(b.shape)}; dot needs equal shapes`);
      }
      if (name === "trace" && a.shape[0] !== a.shape[1]) {
        throw fail(n, `${piece(a)} is ${shapeText(a.shape)}; trace needs a square matrix`);
      }
      if (name === "softmax" && a.shape[1] !== "1") {
        throw fail(n, `${piece(a)} is ${shapeText(a.shape)}; softmax takes a column vector`);
      }
      n.shape = ["sum", "mean", "norm", "dot", "trace"].includes(name) ? SCALAR : a.shape;
      return n;
    }
    function primary(depth) {
      deep(depth);
      if (p >= tokens.length) throw new ReadError("the answer ends too early");
      const tok = tokens[p++];
      if (tok.t === "num") return { k: "num", v: tok.v, shape: SCALAR, at: tok.at, end: tok.end };
      if (tok.t === "(") {
        const e = expr(depth + 1);
        const close = p < tokens.length ? tokens[p] : null;
        expect(")");
        return { ...e, at: tok.at, end: close.end };
      }
      if (tok.t === "name") {
        if (peek("(")) { p++; return call(tok, depth + 1); }
        if (ELEMENTWISE.has(tok.v) || SPECIAL.has(tok.v)) {
          throw new ReadError(`'${tok.v}' is a function; call it like ${tok.v}(x)`);
        }
        if (SIZES.has(tok.v)) return { k: "size", name: tok.v, shape: SCALAR, at: tok.at, end: tok.end };
        const name = NAMES.get(tok.v);
        if (name === undefined) {
          throw new ReadError(`unknown name '${tok.v}'; known names: ${[...NAMES.keys(), ...SIZES].join(", ")}`);
        }
        return { k: "var", name, shape: SHAPES.get(name), at: tok.at, end: tok.end };
      }
      throw new ReadError(`unexpected '${tok.t}' at column ${tok.at + 1}`);
    }
    const tree = expr(0);
    if (p < tokens.length) {
      const t = tokens[p];
      throw new ReadError(`unexpected '${t.t === "num" || t.t === "name" ? t.v : t.t}' at column ${t.at + 1} (write * for a product)`);
    }
    return tree;
  }

  // --- a small matrix evaluator (a matrix is an array of rows; a scalar is 1×1) -------------------
  const map = (a, f) => a.map((row) => row.map(f));
  const entries = (a) => a.flat();
  function zipWith(a, b, f) {
    if (a.length === 1 && a[0].length === 1) return map(b, (v) => f(a[0][0], v));
    if (b.length === 1 && b[0].length === 1) return map(a, (u) => f(u, b[0][0]));
    if (a.length !== b.length || a[0].length !== b[0].length) throw new ShapeError("shapes differ");
    return a.map((row, i) => row.map((u, j) => f(u, b[i][j])));
  }
  function matmul(a, b) {
    if (a[0].length !== b.length) throw new ShapeError("shapes differ");
    return a.map((row) => b[0].map((_, j) => row.reduce((s, u, k) => s + u * b[k][j], 0)));
  }
  const transpose = (a) => a[0].map((_, j) => a.map((row) => row[j]));
  const scalar = (v) => [[v]];
  function evaluate(n, point) {
    switch (n.k) {
      case "num": return scalar(n.v);
      case "size": return scalar(point.sizes[n.name]);
      case "var": return point.values[n.name];
      case "neg": return map(evaluate(n.a, point), (u) => -u);
      case "T": return transpose(evaluate(n.a, point));
      case "pow": return map(evaluate(n.a, point), (u) => Math.pow(u, n.v));
      case "bin": {
        const a = evaluate(n.a, point), b = evaluate(n.b, point);
        if (n.op === "@") return matmul(a, b);
        const f = { "+": (u, v) => u + v, "-": (u, v) => u - v, ".*": (u, v) => u * v, "./": (u, v) => u / v }[n.op];
        return zipWith(a, b, f);
      }
      case "call": {
        const args = n.args.map((x) => evaluate(x, point));
        const a = entries(args[0]);
        const total = a.reduce((s, u) => s + u, 0);
        switch (n.name) {
          case "sum": return scalar(total);
          case "mean": return scalar(total / a.length);
          case "norm": return scalar(Math.sqrt(a.reduce((s, u) => s + u * u, 0)));
          case "dot": {
            const b = entries(args[1]);
            if (a.length !== b.length) throw new ShapeError("shapes differ");
            return scalar(a.reduce((s, u, k) => s + u * b[k], 0));
          }
          case "trace": return scalar(args[0].reduce((s, row, i) => s + row[i], 0));
          case "softmax": {
            const e = map(args[0], Math.exp);
            const z = entries(e).reduce((s, u) => s + u, 0);
            return map(e, (u) => u / z);
          }
          default: return map(args[0], (u) => FN.get(n.name).f(u));
        }
      }
    }
    throw new ReadError("unreadable answer");
  }

  // --- checking an answer -----------------------------------------------------------------------
  const finite = (x) => typeof x === "number" && Number.isFinite(x);
  function equal(a, b) {
    if (!a || !b || a.length !== b.length || a[0].length !== b[0].length) return false;
    const x = entries(a), y = entries(b);
    return x.every((u, k) => finite(u) && finite(y[k]) && Math.abs(u - y[k]) <= 1e-7 * Math.max(1, Math.abs(y[k])));
  }
  function at(tree, point) {
    try { return evaluate(tree, point); } catch (e) { if (e instanceof ShapeError) return null; throw e; }
  }
  // equal to `values` (one per point, null where undefined) at every point where it is defined
  function matches(mine, values) {
    const used = values.map((v, j) => [v, mine[j]]).filter(([v]) => v !== null);
    return used.length > 0 && used.every(([v, m]) => equal(m, v));
  }
  const named = (names, q) => names.map((n) => (q.mistakes.find((m) => m.name === n) || { message: n.replace(/_/g, " ") }).message);
  const TRANSPOSE = "a missing transpose (Xw where Xᵀ belongs)";
  function transposeDropped(tree, q) {
    const mine = at(tree, contextOf(q).square);
    return mine !== null && q.transposes.some((v) => v !== null && equal(mine, v));
  }
  const squeeze = (s) => String(s).replace(/\s+/g, "");
  // {state: "refused" | "correct" | "wrong", mistakes, message}
  function judge(q, text, shape) {
    const ctx = contextOf(q);
    let tree;
    try {
      tree = parse(String(text), ctx);
    } catch (e) {
      if (e instanceof ReadError || e instanceof RangeError) return { state: "refused", message: `Not read: ${e.message}.` };
      if (!(e instanceof ShapeError)) throw e;
      const dropped = transposeAtSquare(String(text), q);
      return { state: "wrong", mistakes: dropped ? ["wrong_shape", "missing_transpose"] : ["wrong_shape"],
        message: `Not correct, the shape is wrong: ${e.message}` + (dropped ? ` (${TRANSPOSE}).` : ".") };
    }
    if (shapeText(tree.shape) !== q.shape) {
      return { state: "wrong", mistakes: ["wrong_shape"],
        message: `Not correct, the shape is wrong: yours is ${shapeText(tree.shape)}, ${q.lhs} is ${q.shape}.` };
    }
    const mine = ctx.points.map((point) => at(tree, point));
    if (!matches(mine, q.expected)) {
      let names = q.mistakes.filter((m) => m.values.some((v) => matches(mine, v))).map((m) => m.name);
      if (!names.length && transposeDropped(tree, q)) names = ["missing_transpose"];
      if (!names.length) return { state: "wrong", message: "Not correct, and not one of the known mistakes: compare it with the derivation step by step." };
      const messages = names.map((n) => (n === "missing_transpose" ? TRANSPOSE : named([n], q)[0]));
      return { state: "wrong", mistakes: names, message: `Not correct: ${messages.join(", ")}.` };
    }
    if (shape === null) return { state: "correct", message: "Correct." }; // its shape asked apart
    if (squeeze(shape) === "") return { state: "wrong", mistakes: ["no_shape"], message: "The derivative is right; now give its shape too." };
    if (!q.accepts.map(squeeze).includes(squeeze(shape))) {
      return { state: "wrong", mistakes: ["wrong_shape_given"], message: `The derivative is right, but ${shape.trim()} is not its shape.` };
    }
    return { state: "correct", message: "Correct: the derivative and its shape." };
  }
  // An answer that does not conform, read with the shapes of the square point (every size equal):
  // equal there to the gradient with a transpose dropped?
  function transposeAtSquare(text, q) {
    const ctx = contextOf(q);
    const one = [...ctx.sizes][0];
    const shapes = new Map([...ctx.shapes].map(([k, s]) => [k, s.map((x) => (ctx.sizes.has(x) ? one : x))]));
    try { return transposeDropped(parse(text, { ...ctx, shapes }), q); } catch (e) { return false; }
  }

  // --- questions: the gradients' boxes and the step box ------------------------------------------
  function attempt(box, q, remember) {
    const text = box.querySelector("input.answer").value;
    const shapeBox = box.querySelector("input.shape");
    const shape = shapeBox ? shapeBox.value : null;
    const result = text === "" ? null : judge(q, text, shape);
    showVerdict(box.querySelector(".verdict"), result);
    const solution = q.solution ? $(q.solution) : box.querySelector(".solution");
    const open = reveals(q, result) || (store.answers[q.id] || {}).revealed === true;
    if (solution && open) solution.hidden = false;
    if (remember && result) {
      store.answers[q.id] = { text, shape, state: result.state, revealed: open };
      save();
    }
  }
  const boxes = Array.from(document.querySelectorAll(".question[data-q]")).filter((b) => QUESTIONS.has(b.dataset.q));
  for (const box of boxes) {
    const run = () => attempt(box, QUESTIONS.get(box.dataset.q), true);
    box.querySelector("button.check").addEventListener("click", run);
    box.querySelectorAll("input").forEach((i) => i.addEventListener("keydown", (e) => { if (e.key === "Enter") run(); }));
  }

  const steps = Array.from(document.querySelectorAll("li.step"));
  const tryBox = $("step-try");
  let shown = 0;
  function showSteps() {
    steps.forEach((li, k) => { li.hidden = k >= shown; li.classList.toggle("latest", k === shown - 1); });
    $("step-status").textContent = `${shown} of ${steps.length} steps shown`;
    $("step-prev").disabled = shown === 0;
    $("step-next").disabled = $("step-all").disabled = shown === steps.length;
    const next = steps[shown];
    const q = next && next.dataset.q ? QUESTIONS.get(next.dataset.q) : null;
    tryBox.hidden = !q;
    if (q) {
      $("step-lhs").replaceChildren(next.querySelector("template.lhs").content.cloneNode(true));
      $("step-in").setAttribute("aria-label", `Your answer for ${next.dataset.lhs}`);
      $("step-in").value = $("step-shape").value = "";
      showVerdict($("step-verdict"), null);
    }
  }
  function setSteps(k) { shown = Math.max(0, Math.min(steps.length, k)); store.steps = shown; save(); showSteps(); }
  if (tryBox) {
    $("step-next").addEventListener("click", () => setSteps(shown + 1));
    $("step-prev").addEventListener("click", () => setSteps(shown - 1));
    $("step-all").addEventListener("click", () => setSteps(steps.length));
    const checkStep = () => {
      const q = QUESTIONS.get(steps[shown].dataset.q);
      const result = $("step-in").value === "" ? null : judge(q, $("step-in").value, $("step-shape").value);
      showVerdict($("step-verdict"), result);
      if (result && result.state !== "refused") { store.answers[q.id] = { state: result.state }; save(); }
    };
    tryBox.querySelector("button.check").addEventListener("click", checkStep);
    tryBox.querySelectorAll("input").forEach((i) => i.addEventListener("keydown", (e) => { if (e.key === "Enter") checkStep(); }));
  }

  // --- start, and reset -------------------------------------------------------------------------
  function restore() {
    load();
    shown = Number.isInteger(store.steps) ? Math.min(store.steps, steps.length) : 0;
    if (PAGE) document.querySelectorAll(".solution").forEach((sol) => { sol.hidden = true; });
    for (const box of boxes) {
      const saved = store.answers[box.dataset.q] || {};
      box.querySelector("input.answer").value = typeof saved.text === "string" ? saved.text : "";
      const shapeBox = box.querySelector("input.shape");
      if (shapeBox) shapeBox.value = typeof saved.shape === "string" ? saved.shape : "";
      attempt(box, QUESTIONS.get(box.dataset.q), false);
    }
    if (tryBox) showSteps();
  }
  if ($("reset")) $("reset").addEventListener("click", () => {
    try { window.localStorage.removeItem(KEY); } catch (e) { /* no storage */ }
    store = { answers: {} };
    restore();
  });
  restore();
  document.documentElement.dataset.ready = "true";
})();
