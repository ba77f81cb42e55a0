// Forms with data-confirm ask before they submit (an inline onsubmit handler would need 'unsafe-inline'
// in the Content-Security-Policy).
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
