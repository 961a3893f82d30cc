// --- a verdict and when a solution shows: the same on the scalar and the matrix pages ------------
// (interactive.js, interactive_matrix.js). `result` is a judge's {state, message, mistakes} or null.
function showVerdict(el, result) {
  el.textContent = result ? result.message : "";
  el.className = "verdict" + (result ? " " + result.state : "");
  if (result && result.mistakes) el.dataset.mistakes = result.mistakes.join(",");
  else delete el.dataset.mistakes;
}

// Whether question `q`'s solution shows after `result`, by its reveal policy.
function reveals(q, result) {
  const policy = q.reveal || "after_attempt";
  if (policy === "always") return true;
  if (policy === "never" || !result) return false;
  if (policy === "after_correct") return result.state === "correct";
  return result.state !== "refused";
}
