// Small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Open the evidence file of a cited line when its anchor is followed.
  const openTarget = () => {
    const id = decodeURIComponent(location.hash.slice(1));
    const el = id && document.getElementById(id);
    if (el) {
      const details = el.closest("details");
      if (details) details.open = true;
      el.scrollIntoView({ block: "center" });
    }
  };
  window.addEventListener("hashchange", openTarget);
  openTarget();

  // Copy buttons (the owner's private link): shown only where the clipboard can be used.
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const done = document.getElementById("copy-done");
      const text = source.textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
        if (done) done.textContent = "Copied. Keep it somewhere safe.";
      } catch (e) {
        const range = document.createRange();
        range.selectNodeContents(source);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        if (done) done.textContent = "Selected: press Ctrl+C (or Copy) to copy it.";
      }
    });
  });

  // A form marked data-warn-leave asks before the page is left with typed but unsent values.
  document.querySelectorAll("form[data-warn-leave]").forEach((form) => {
    let dirty = form.dataset.warnLeave === "dirty";
    let sending = false;
    const touched = () => { dirty = true; form.dataset.dirty = "1"; };
    if (dirty) form.dataset.dirty = "1";
    form.addEventListener("input", touched);
    form.addEventListener("change", touched);
    form.addEventListener("submit", (event) => {
      if (sending) { event.preventDefault(); return; }  // a second click sends nothing twice
      sending = true;
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.setAttribute("aria-disabled", "true"); });
    });
    window.addEventListener("beforeunload", (event) => {
      if (dirty && !sending) { event.preventDefault(); event.returnValue = ""; }
    });
  });

  // Forms that ask for confirmation first (sign-off, reopen): data-confirm on the submit button.
  document.querySelectorAll("button[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });

  // A page waiting for the automatic diagnosis (data-watch-seconds) looks again every few seconds and
  // reloads itself once the diagnosis is in: no timed refresh (WCAG 2.2.1; without scripts a <noscript>
  // refresh does it). If something typed into a form would be lost, it says so instead of reloading.
  const watched = document.querySelector("[data-watch-seconds]");
  if (watched) {
    const every = 1000 * Math.max(2, Number(watched.dataset.watchSeconds) || 5);
    const note = document.getElementById("watch-note");
    const look = async () => {
      try {
        const reply = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
        if (reply.ok) {
          const page = new DOMParser().parseFromString(await reply.text(), "text/html");
          if (!page.querySelector("[data-watch-seconds]")) {
            if (!document.querySelector("form[data-dirty]")) { location.reload(); return; }
            if (note) note.textContent = "The diagnosis is ready: send or clear what you typed, then reload the page to see it.";
            return;
          }
        }
      } catch (e) {
        // the connection dropped for a moment: look again at the next turn
      }
      setTimeout(look, every);
    };
    setTimeout(look, every);
  }

  // After a refused form, go to the first field at fault.
  const bad = document.querySelector("[aria-invalid=true]");
  if (bad) {
    bad.scrollIntoView({ block: "center" });
    bad.focus({ preventScroll: true });
  }
});

// Clicking a drawn DIP switch means the owner read it: choose "set as shown" for that module.
document.addEventListener("change", (event) => {
  const m = event.target.name && event.target.name.match(/^(m\d+)_dip[1-4]$/);
  if (!m) return;
  const shown = document.querySelector(`input[name=${m[1]}_dip_read][value="1"]`);
  if (shown) shown.checked = true;
});
