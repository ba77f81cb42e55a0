// The report of a failed run or match, drawn into the page's [data-failure] box: what failed, where it
// stopped, the last lines of its log (the same words the page's template renders on a reload).
export function showFailure(failure) {
  const box = document.querySelector("[data-failure]");
  if (!box || !failure || !failure.what) return;
  box.querySelector("[data-failure-what]").textContent = failure.what;
  box.querySelector("[data-failure-stopped]").textContent = failure.stopped_at?.said || "";
  box.querySelector("[data-failure-where]").textContent = failure.where || "";
  box.querySelector("[data-failure-log]").textContent = (failure.log || []).join("\n");
  box.hidden = false;
}
