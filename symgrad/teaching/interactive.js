// symgrad's interactive page: step through a derivation, play its graph, check answers offline.
// Before this file the page defines F (the expected expressions compiled by SymPy's JavaScript
// printer, each a function of a point E) and FN (the functions a student may type, from the
// function registry). The student's text is read by the whitelist parser below (tokenizer,
// recursive descent, tree walker): it is never evaluated as code. erf (SymPy's, for gelu) is
// in interactive_erf.js, before this file.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("symgrad-data").textContent);
  const $ = (id) => document.getElementById(id);
  const NAMES = new Map(Object.entries(DATA.names || {}));
  const POINT = DATA.point || { samples: 1, variables: [], nodes: [], per_sample: [] };
  const PER = new Set(POINT.per_sample);
  const QUESTIONS = new Map((DATA.questions || []).map((q) => [q.id, q]));
  const MAX_DEPTH = 100;
  const MAX_LENGTH = DATA.max_length || 2000;

  // --- progress, kept in this browser -----------------------------------------------------------
  let store = {};
  function load() {
    try {
      const text = window.localStorage.getItem(DATA.key);
      const got = text ? JSON.parse(text) : {};
      store = got && typeof got === "object" ? got : {};
    } catch (e) {
      store = {}; // no storage (a sandboxed frame): progress lasts as long as the page
    }
    if (!store.answers || typeof store.answers !== "object") store.answers = {};
  }
  function save() {
    try {
      window.localStorage.setItem(DATA.key, JSON.stringify(store));
    } catch (e) {
      /* no storage */
    }
  }

  // --- the whitelist parser ---------------------------------------------------------------------
  // The comparisons are read only to give where(condition, a, b) its condition (and to refuse
  // them anywhere else with their column); == and != are read to be refused by name.
  const OPERATORS = ["**", "+", "-", "\u2212", "*", "/", "^", "(", ")", ",", "<=", ">=", "==", "!=",
    "<", ">"];
  const COMPARE = new Set(["<", "<=", ">", ">=", "==", "!="]);
  const HOLDS = { "<": (a, b) => a < b, "<=": (a, b) => a <= b, ">": (a, b) => a > b,
    ">=": (a, b) => a >= b };
  const tokenize = (text) => readTokens(text, { maxLength: MAX_LENGTH, operators: OPERATORS,
    hint: "+ - * / ^, where(z > 0, a, b)", underscore: true });

  function parse(text) {
    const tokens = tokenize(text);
    let p = 0;
    let inSum = false;
    const peek = (t) => p < tokens.length && tokens[p].t === t;
    const where = () => (p < tokens.length ? `column ${tokens[p].at + 1}` : "the end");
    function expect(t) {
      if (!peek(t)) throw new ReadError(`expected '${t}' at ${where()}`);
      p++;
    }
    function deep(depth) {
      if (depth > MAX_DEPTH) throw new ReadError(`nested too deeply (more than ${MAX_DEPTH} levels)`);
    }
    // test := expr [comparison expr]: Python's grammar, where a comparison binds loosest and
    // may stand in parentheses; it is a value nowhere (plain), only where()'s first argument.
    function test(depth) {
      deep(depth);
      const at = p < tokens.length ? tokens[p].at : 0;
      const a = expr(depth + 1);
      if (!(p < tokens.length && COMPARE.has(tokens[p].t))) return a;
      const op = tokens[p++].t;
      const node = { k: "cmp", op, a, b: expr(depth + 1), at };
      if (p < tokens.length && COMPARE.has(tokens[p].t)) node.chained = true;
      while (p < tokens.length && COMPARE.has(tokens[p].t)) { p++; expr(depth + 1); }
      return node;
    }
    function plain(node) {
      if (node.k === "cmp") {
        throw new ReadError("a comparison (<, ==, ...) outside where(condition, a, b) is not " +
          `allowed (column ${node.at + 1})`);
      }
      return node;
    }
    function expr(depth) {
      deep(depth);
      let a = term(depth + 1);
      while (peek("+") || peek("-")) {
        const op = tokens[p++].t;
        a = { k: "bin", op, a: plain(a), b: plain(term(depth + 1)) };
      }
      return a;
    }
    function term(depth) {
      deep(depth);
      let a = unary(depth + 1);
      while (peek("*") || peek("/")) {
        const op = tokens[p++].t;
        a = { k: "bin", op, a: plain(a), b: plain(unary(depth + 1)) };
      }
      return a;
    }
    function unary(depth) {
      deep(depth);
      if (peek("-") || peek("+")) {
        const op = tokens[p++].t;
        const a = plain(unary(depth + 1));
        return op === "-" ? { k: "neg", a } : a;
      }
      return power(depth + 1);
    }
    function power(depth) {
      deep(depth);
      const base = primary(depth + 1);
      if (peek("^")) {
        p++;
        return { k: "bin", op: "^", a: plain(base), b: plain(unary(depth + 1)) };
      }
      return base;
    }
    // where(a > b, x, y), as core/parse.py reads it: three arguments, the first one comparison
    // (<, <=, >, >=) of two terms; x where it holds, y where it does not.
    function piecewise(at, depth) {
      const args = [test(depth + 1)];
      while (peek(",")) { p++; args.push(test(depth + 1)); }
      expect(")");
      if (args.length !== 3) {
        throw new ReadError(`where() takes 3 arguments, got ${args.length} (column ${at + 1})`);
      }
      const [c, a, b] = args;
      if (c.k !== "cmp") {
        throw new ReadError("the first argument of where() must be a comparison like z > 0 " +
          `(column ${at + 1})`);
      }
      if (c.chained || !HOLDS[c.op]) {
        throw new ReadError("where() compares two terms with one of <, <=, >, >= " +
          `(column ${c.at + 1})`);
      }
      return { k: "where", op: c.op, l: plain(c.a), r: plain(c.b), a: plain(a), b: plain(b) };
    }
    function call(name, at, depth) {
      if (name === "sum") {
        if (POINT.samples < 2 && !PER.size) throw new ReadError("there are no samples to sum over");
        if (inSum) throw new ReadError("sums do not nest");
        inSum = true;
        const a = plain(test(depth + 1));
        inSum = false;
        if (peek(",")) {
          p++;
          if (!(p < tokens.length && tokens[p].t === "name" && tokens[p].v === "i")) {
            throw new ReadError("the index of a sum is i: sum(expr) or sum(expr, i)");
          }
          p++;
        }
        expect(")");
        return { k: "sum", a };
      }
      if (name === "where") return piecewise(at, depth + 1);
      if (!FN.has(name)) throw new ReadError(`unknown function '${name}'`);
      const fn = FN.get(name);
      const args = [plain(test(depth + 1))];
      while (peek(",")) { p++; args.push(plain(test(depth + 1))); }
      expect(")");
      if (args.length < fn.lo || (fn.hi !== null && args.length > fn.hi + 0)) {
        throw new ReadError(`${name} takes ${fn.lo === fn.hi ? fn.lo : "another number of"} ` +
          "argument(s)");
      }
      return { k: "call", fn, args };
    }
    function primary(depth) {
      deep(depth);
      if (p >= tokens.length) throw new ReadError("the answer ends too early");
      const tok = tokens[p++];
      if (tok.t === "num") return { k: "num", v: tok.v };
      if (tok.t === "(") { const e = test(depth + 1); expect(")"); return e; }
      if (tok.t === "name") {
        if (peek("(")) { p++; return call(tok.v, tok.at, depth + 1); }
        if (FN.has(tok.v) || tok.v === "sum") {
          const like = tok.v === "where" ? "where(z > 0, 1, 0)" : `${tok.v}(x)`;
          throw new ReadError(`'${tok.v}' is a function; call it like ${like}`);
        }
        const name = NAMES.get(tok.v);
        if (name === undefined) {
          const known = Array.from(NAMES.keys()).sort().join(", ");
          throw new ReadError(`unknown name '${tok.v}'${known ? `; known names: ${known}` : ""}`);
        }
        return { k: "var", name };
      }
      throw new ReadError(`unexpected '${tok.t}' at column ${tok.at + 1}`);
    }
    const tree = plain(test(0));
    if (p < tokens.length) throw new ReadError(`unexpected '${tokens[p].t === "num" || tokens[p].t === "name" ? tokens[p].v : tokens[p].t}' at column ${tokens[p].at + 1} (write * for a product)`);
    return tree;
  }

  // `seen.edge` is set when a where()'s two sides differ only by rounding (its branch is then
  // the rounding's choice, not the answer's).
  function evaluate(node, E, k, seen = {}) {
    switch (node.k) {
      case "num": return node.v;
      case "var":
        if (node.name === "N") return E.n;
        return PER.has(node.name) ? E.k[k].get(node.name) : E.s.get(node.name);
      case "neg": return -evaluate(node.a, E, k, seen);
      case "sum": {
        let total = 0;
        for (let j = 0; j < E.k.length; j++) total += evaluate(node.a, E, j, seen);
        return total;
      }
      case "where": {
        const l = evaluate(node.l, E, k, seen), r = evaluate(node.r, E, k, seen);
        if (!finite(l) || !finite(r)) return NaN;
        if (l !== r && Math.abs(l - r) <= 1e-9 * Math.max(1, Math.abs(l), Math.abs(r))) seen.edge = true;
        return evaluate(HOLDS[node.op](l, r) ? node.a : node.b, E, k, seen);
      }
      case "call": {
        const args = node.args.map((a) => evaluate(a, E, k, seen));
        const fn = node.fn;
        if (fn.hi === null) return args.reduce((x, y) => fn.f(x, y));
        while (args.length < fn.hi) args.push(fn.d[args.length - fn.lo]);
        return fn.f(...args);
      }
      case "bin": {
        const a = evaluate(node.a, E, k, seen), b = evaluate(node.b, E, k, seen);
        if (node.op === "+") return a + b;
        if (node.op === "-") return a - b;
        if (node.op === "*") return a * b;
        if (node.op === "/") return a / b;
        return Math.pow(a, b);
      }
    }
    throw new ReadError("unreadable answer");
  }

  // --- random points (the same for every answer of the page) -------------------------------------
  let seed = 20240;
  function rand() { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  const uniform = (lo, hi) => lo + (hi - lo) * rand();
  // attempt k draws its parameters from the k-th range (cyclically), or wide ones (|p| up to 100)
  function draw(attempt, wide = false) {
    const [lo, hi] = wide ? [[2.5, 10], [10, 100]][attempt % 2]
      : [[-1.5, 1.5], [0.1, 0.9], [1.1, 2.5]][attempt % 3];
    const E = { s: new Map(), k: [], n: POINT.samples };
    for (let j = 0; j < POINT.samples; j++) E.k.push(new Map());
    for (const v of POINT.variables) {
      if (v.kind === "param") E.s.set(v.name, uniform(lo, hi) * (rand() < 0.3 ? -1 : 1));
      else if (v.kind === "positive") E.s.set(v.name, uniform(0.1, 1));
      else if (v.kind === "feature") E.k.forEach((m) => m.set(v.name, uniform(-2, 2)));
      else if (v.group === null || v.group === undefined) {
        E.k.forEach((m) => m.set(v.name, uniform(0.1, 0.9)));
      }
    }
    const groups = new Map();
    for (const v of POINT.variables) {
      if (v.kind === "label" && v.group !== null && v.group !== undefined) {
        if (!groups.has(v.group)) groups.set(v.group, []);
        groups.get(v.group).push(v.name);
      }
    }
    for (const names of groups.values()) {
      E.k.forEach((m) => {
        const w = names.map(() => uniform(0.1, 1));
        const total = w.reduce((a, b) => a + b, 0);
        names.forEach((n, j) => m.set(n, w[j] / total));
      });
    }
    for (const node of POINT.nodes) {
      if (node.sample) E.k.forEach((m, j) => m.set(node.name, F[node.f](E, j)));
      else E.s.set(node.name, F[node.f](E, 0));
    }
    return E;
  }
  const finite = (x) => typeof x === "number" && Number.isFinite(x);
  // The points: 8 where every value is finite, none on a kink of an expected answer (a point
  // within 1e-6 of one could land on either side of the student's way of writing it), and for
  // each kink, at least one point on each side of it at sample 0 (when one is found: else an
  // answer that ignores the kink would be judged right), wider parameters drawn if needed. A
  // kink that every point is on (its two sides never differ here) is no kink of this page.
  const KINKS = POINT.kinks || [];
  const near = (g) => !finite(g) || Math.abs(g) <= 1e-6;
  const drawn = [];
  let pool = [];
  function candidate(attempt, wide) {
    const E = draw(attempt, wide);
    const values = [...E.s.values(), ...E.k.flatMap((m) => [...m.values()])];
    if (!values.every(finite)) return;
    E.gaps = KINKS.map((f) => E.k.map((m, j) => { try { return F[f](E, j); } catch (e) { return NaN; } }));
    drawn.push(E);
    const live = KINKS.map((_, c) => drawn.some((P) => !P.gaps[c].some(near)));
    pool = drawn.filter((P) => P.gaps.every((gs, c) => !live[c] || !gs.some(near)));
  }
  const covered = (c, up) => pool.some((E) => (E.gaps[c][0] > 0) === up);
  const missing = () => KINKS.some((_, c) => !covered(c, true) || !covered(c, false));
  for (let attempt = 0; attempt < 300 && drawn.length < (KINKS.length ? 64 : 8); attempt++) {
    candidate(attempt, false);
  }
  for (let attempt = 0; attempt < 200 && missing(); attempt++) candidate(attempt, true);
  const POINTS = [];
  KINKS.forEach((_, c) => {
    for (const up of [true, false]) {
      const E = pool.find((P) => (P.gaps[c][0] > 0) === up);
      if (E && !POINTS.some((P) => (P.gaps[c][0] > 0) === up)) POINTS.push(E);
    }
  });
  for (const E of pool) if (POINTS.length < 8 && !POINTS.includes(E)) POINTS.push(E);
  const close = (a, b, tol) => finite(a) && finite(b) && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

  // --- checking an answer -----------------------------------------------------------------------
  const cache = new Map();
  function valuesOf(f) {
    if (!cache.has(f)) cache.set(f, POINTS.map((E) => { try { return F[f](E, 0); } catch (e) { return NaN; } }));
    return cache.get(f);
  }
  function read(text) {
    try {
      return { tree: parse(String(text)) };
    } catch (e) {
      if (e instanceof ReadError || e instanceof RangeError) return { error: e.message };
      throw e;
    }
  }
  // {state: "refused" | "correct" | "wrong", message}
  const squeeze = (s) => String(s).replace(/\s+/g, "");
  function judge(q, text) {
    if (q.accepts !== undefined) { // a typed word (a shape: k×d, k x d, kxd, (k, d)), not parsed
      const ok = q.accepts.map(squeeze).includes(squeeze(text));
      return ok ? { state: "correct", message: "Correct." } : { state: "wrong", message: "Not correct." };
    }
    const got = read(text);
    if (got.error) return { state: "refused", message: `Not read: ${got.error}.` };
    if (q.value !== undefined) { // a number (worksheets, the graph): the sheet's tolerance
      const E = q.point || { s: new Map(), k: [new Map()], n: 1 };
      let v;
      try { v = evaluate(got.tree, E, 0); } catch (e) { v = NaN; }
      if (!finite(v)) return { state: "refused", message: "Not read: write a number." };
      const ok = Math.abs(v - q.value) <= q.tolerance;
      return ok ? { state: "correct", message: "Correct." }
        : { state: "wrong", message: `Not correct: ${fmt(v)} is not within ${q.tolerance} of the value.` };
    }
    if (q.word !== undefined) {
      const ok = String(text).trim().toLowerCase() === q.word.toLowerCase();
      return ok ? { state: "correct", message: "Correct." } : { state: "wrong", message: "Not correct." };
    }
    const seen = POINTS.map(() => ({ edge: false }));
    const mine = POINTS.map((E, j) => { try { return evaluate(got.tree, E, 0, seen[j]); } catch (e) { return NaN; } });
    const edges = seen.filter((s) => s.edge).length;
    if (2 * edges > POINTS.length) {
      return { state: "refused", message: "Not read: the two sides of a where() condition are " +
        "equal up to rounding at the check points, so they cannot say which branch holds." };
    }
    const right = valuesOf(q.answers[0].f);
    const used = right.map((r, j) => finite(r) && !seen[j].edge);
    for (const a of q.answers) {
      const theirs = valuesOf(a.f);
      if (used.every((u, j) => !u || close(mine[j], theirs[j], 1e-7))) {
        if (!a.mistakes.length) return { state: "correct", message: "Correct." };
        return { state: "wrong", mistakes: a.mistakes,
          message: `Not correct. Known mistake: ${a.mistakes.join(", ")}. ${a.feedback}` };
      }
    }
    return { state: "wrong", message: "Not correct, and not one of the known mistakes: compare " +
      "it with the derivation step by step." };
  }
  function fmt(v) { return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, ""); }

  // --- questions with their own input (gradients, worksheet answers) -----------------------------
  // (a matrix question of a worksheet is interactive_matrix.js's)
  const boxes = Array.from(document.querySelectorAll(".question[data-q]"))
    .filter((box) => !(QUESTIONS.get(box.dataset.q) || {}).matrix);
  function attempt(box, text, remember) {
    const q = QUESTIONS.get(box.dataset.q);
    const result = text === "" ? null : judge(q, text);
    showVerdict(box.querySelector(".verdict"), result);
    const solution = q.solution ? $(q.solution) : box.querySelector(".solution");
    const open = reveals(q, result) || (store.answers[q.id] || {}).revealed === true;
    if (solution && open) solution.hidden = false;
    if (remember && result) {
      store.answers[q.id] = { text, state: result.state, revealed: open };
      save();
    }
  }
  for (const box of boxes) {
    const input = box.querySelector("input.answer");
    const run = () => attempt(box, input.value, true);
    box.querySelector("button.check").addEventListener("click", run);
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") run(); });
  }

  // --- steps ------------------------------------------------------------------------------------
  const steps = Array.from(document.querySelectorAll("li.step"));
  let shown = 0;
  function showSteps() {
    steps.forEach((li, k) => { li.hidden = k >= shown; li.classList.toggle("latest", k === shown - 1); });
    if (!steps.length) return;
    $("step-status").textContent = `${shown} of ${steps.length} steps shown`;
    $("step-prev").disabled = shown === 0;
    $("step-next").disabled = $("step-all").disabled = shown === steps.length;
    const next = steps[shown];
    const q = next && next.dataset.q ? QUESTIONS.get(next.dataset.q) : null;
    $("step-try").hidden = !q;
    if (q) {
      const lhs = $("step-lhs");
      lhs.replaceChildren(next.querySelector("template.lhs").content.cloneNode(true));
      $("step-answer").setAttribute("aria-label", `Your answer for ${next.dataset.lhs}`);
      $("step-answer").value = "";
      showVerdict($("step-verdict"), null);
    }
  }
  function setSteps(k) { shown = Math.max(0, Math.min(steps.length, k)); store.steps = shown; save(); showSteps(); }
  if (steps.length) {
    $("step-next").addEventListener("click", () => setSteps(shown + 1));
    $("step-prev").addEventListener("click", () => setSteps(shown - 1));
    $("step-all").addEventListener("click", () => setSteps(steps.length));
    const checkStep = () => {
      const q = QUESTIONS.get(steps[shown].dataset.q);
      const result = $("step-answer").value === "" ? null : judge(q, $("step-answer").value);
      showVerdict($("step-verdict"), result);
      if (result && result.state !== "refused") { store.answers[q.id] = { state: result.state }; save(); }
    };
    $("step-check").addEventListener("click", checkStep);
    $("step-answer").addEventListener("keydown", (e) => { if (e.key === "Enter") checkStep(); });
  }

  // --- the graph: forward pass, then backward pass ------------------------------------------------
  const events = DATA.events || [];
  let played = 0;
  const known = { s: new Map(), k: [new Map()], n: 1 }; // the values so far, for typed answers
  function showPlay() {
    document.querySelectorAll("#graph .value, #graph .grad, #graph .adjoint").forEach((t) => { t.textContent = ""; });
    document.querySelectorAll("#graph .current, #graph .lit").forEach((g) => g.classList.remove("current", "lit"));
    const log = $("play-log").tBodies[0];
    log.replaceChildren();
    known.s.clear();
    events.slice(0, played).forEach((ev, k) => {
      const node = $(ev.node);
      if (ev.pass === "forward") {
        node.querySelector(".value").textContent = ev.shown;
        known.s.set(ev.var, ev.value);
      } else {
        node.querySelector(".grad").textContent = ev.shown;
        for (const t of ev.edges) { const e = $(t.edge); e.querySelector(".adjoint").textContent = t.text; if (k === played - 1) e.classList.add("lit"); }
      }
      if (k === played - 1) node.classList.add("current");
      const row = log.insertRow();
      row.insertCell().textContent = ev.pass;
      row.insertCell().textContent = ev.text;
    });
    const forward = events.filter((e) => e.pass === "forward").length;
    $("play-status").textContent = played === 0 ? "Press Next to start the forward pass."
      : played <= forward ? `Forward pass: ${played} of ${forward}`
        : played < events.length ? `Backward pass: ${played - forward} of ${events.length - forward}` : "Done: every value and gradient is known.";
    $("play-prev").disabled = played === 0;
    $("play-next").disabled = $("play-all").disabled = played === events.length;
    const next = events[played];
    $("play-try").hidden = !next;
    if (next) { $("play-what").textContent = next.name; $("play-answer").value = ""; showVerdict($("play-verdict"), null); }
  }
  function setPlay(k) { played = Math.max(0, Math.min(events.length, k)); store.play = played; save(); showPlay(); }
  if (events.length) {
    $("play-next").addEventListener("click", () => setPlay(played + 1));
    $("play-prev").addEventListener("click", () => setPlay(played - 1));
    $("play-all").addEventListener("click", () => setPlay(events.length));
    const checkPlay = () => {
      const ev = events[played];
      const q = { value: ev.value, tolerance: 1e-3 * Math.max(1, Math.abs(ev.value)), point: known };
      showVerdict($("play-verdict"), $("play-answer").value === "" ? null : judge(q, $("play-answer").value));
    };
    $("play-check").addEventListener("click", checkPlay);
    $("play-answer").addEventListener("keydown", (e) => { if (e.key === "Enter") checkPlay(); });
  }

  // --- start, and reset -------------------------------------------------------------------------
  function restore() {
    load();
    shown = Number.isInteger(store.steps) ? Math.min(store.steps, steps.length) : 0;
    played = Number.isInteger(store.play) ? Math.min(store.play, events.length) : 0;
    document.querySelectorAll(".solution").forEach((sol) => { sol.hidden = true; });
    for (const box of boxes) {
      const saved = store.answers[box.dataset.q];
      const input = box.querySelector("input.answer");
      input.value = saved && typeof saved.text === "string" ? saved.text : "";
      attempt(box, input.value, false);
    }
    if (steps.length) showSteps();
    if (events.length) showPlay();
  }
  const reset = $("reset");
  if (reset) {
    reset.addEventListener("click", () => {
      try { window.localStorage.removeItem(DATA.key); } catch (e) { /* no storage */ }
      store = { answers: {} };
      restore();
    });
  }
  restore();
  document.documentElement.dataset.ready = "true";
})();
