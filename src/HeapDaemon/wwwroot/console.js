// HeapDaemon console: the little the pages need from a script. Everything works without it; it only says "working"
// while an answer waits on S3 or PostgreSQL, keeps a form from being sent twice, and copies text to the clipboard.
(() => {
  const status = () => document.getElementById('working-status');

  function working(element, text) {
    element.classList.add('is-working');
    element.setAttribute('aria-busy', 'true');
    const label = element.querySelector('.label');
    if (label && element.dataset.working) label.textContent = element.dataset.working;
    const live = status();
    if (live) live.textContent = text || element.dataset.working || 'Working…';
  }

  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (form.dataset.sent === 'true') { event.preventDefault(); return; }
    form.dataset.sent = 'true';
    form.setAttribute('aria-busy', 'true');
    const button = event.submitter;
    if (button) working(button);
  });

  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-working]');
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey) working(link);
    const copy = event.target.closest('button[data-copy]');
    if (copy) {
      const text = document.getElementById(copy.dataset.copy)?.textContent ?? '';
      navigator.clipboard?.writeText(text.trim()).then(() => {
        const live = status();
        if (live) live.textContent = 'Copied to the clipboard.';
      });
    }
  });

  // A page shown again from the back/forward cache must not stay "working".
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    document.querySelectorAll('[aria-busy="true"]').forEach((e) => e.removeAttribute('aria-busy'));
    document.querySelectorAll('.is-working').forEach((e) => e.classList.remove('is-working'));
    document.querySelectorAll('form[data-sent]').forEach((f) => delete f.dataset.sent);
  });

  // Escape closes an open actions menu and returns focus to it.
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    const open = document.querySelector('details.menu[open]');
    if (open) { open.removeAttribute('open'); open.querySelector('summary')?.focus(); }
  });
})();
