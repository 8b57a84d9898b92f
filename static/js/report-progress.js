// The report page's progress, kept up to date without reloading while the report renders; once it
// is ready (or has failed) the page is loaded again to offer the download. Enhancement only: the
// page refreshes itself where scripts do not run (a <noscript> refresh).
const state = document.getElementById("report-state");
const INTERVAL_MS = 1500;

async function ask() {
  try {
    const response = await fetch(state.dataset.progressUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    return response.ok ? await response.json() : null;
  } catch {
    return null; // a dropped connection: the next poll tries again
  }
}

function show(answer) {
  const bar = document.getElementById("report-progress");
  if (bar) {
    bar.value = answer.progress;
    bar.textContent = `${answer.progress}%`;
  }
  for (const [id, text] of [
    ["report-percent", `${answer.progress}%`],
    ["report-step", answer.step],
  ]) {
    const element = document.getElementById(id);
    if (element) {
      element.textContent = text;
    }
  }
  const status = document.querySelector("#report-status .govuk-tag");
  if (status) {
    status.textContent = answer.status_label;
  }
}

async function poll() {
  const answer = await ask();
  if (answer && (answer.finished || answer.status === "failed")) {
    window.location.reload();
    return;
  }
  if (answer) {
    show(answer);
  }
  window.setTimeout(poll, INTERVAL_MS);
}

if (state && state.dataset.finished === "false") {
  window.setTimeout(poll, INTERVAL_MS);
}
