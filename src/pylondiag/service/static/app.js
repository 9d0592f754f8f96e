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
});
