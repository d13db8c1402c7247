() => {
  // Gradio runs this on page load (launch(js=...)); it must stay one function expression.
  // Gradio's HTML outputs are replaced whole, and a live region inside one is not announced reliably (and a
  // streamed answer would be read ten times a second). One status region of our own says when an answer or a
  // notice has arrived; the answer box is aria-busy while it streams. Gradio's accordions say nothing of
  // whether they are open: their buttons get aria-expanded, and the ▼ is hidden from the accessible name.
  const say = document.createElement('div');
  say.id = 'announce'; say.className = 'vh'; say.setAttribute('role', 'status');
  document.body.appendChild(say);
  const text = (sel) => { const e = document.querySelector(sel); return e ? e.innerText.trim() : ''; };
  let last = '';
  const sync = () => {
    for (const b of document.querySelectorAll('button.label-wrap')) {
      b.setAttribute('aria-expanded', b.classList.contains('open') ? 'true' : 'false');
      const icon = b.querySelector('.icon'); if (icon) icon.setAttribute('aria-hidden', 'true');
    }
    // The timeline chart's SVG was read as one name of every tick, legend entry and the title run together
    // ("2024 2025 year 0 2 4 …"): it is an image named by its title, described by the bars in words
    // (workbench.chart_summary, hidden in the list under it).
    const chart = document.querySelector('#timeline-plot .vega-embed');
    if (chart) {
      const title = chart.querySelector('.role-title-text');
      const name = title ? title.textContent.trim() : 'Chart of the relevant sources by year and side';
      if (chart.getAttribute('aria-label') !== name) {
        chart.setAttribute('role', 'img'); chart.setAttribute('aria-label', name);
        chart.removeAttribute('aria-roledescription');
        chart.setAttribute('aria-describedby', 'timeline-summary');
      }
      for (const g of chart.querySelectorAll('svg, canvas')) g.setAttribute('aria-hidden', 'true');
    }
    // Gradio's icons (a dropdown's arrow, the upload box's cloud) were each announced as an unnamed image.
    for (const icon of document.querySelectorAll('svg:not([aria-hidden]):not([aria-label])')) {
      if (!icon.querySelector('title')) icon.setAttribute('aria-hidden', 'true');
    }
    // Gradio names each radio button apart (radio-1, radio-2, …), so the Recent questions list was fifteen
    // groups of one: arrow keys moved nowhere and Tab stopped at every question. One name makes it one group.
    for (const r of document.querySelectorAll('#recent input[type=radio]:not([name=recent-question])')) {
      r.name = 'recent-question';
    }
    const box = document.querySelector('#answer');
    if (!box) return;
    const streaming = !!box.querySelector('.answer.streaming');
    box.setAttribute('aria-busy', streaming ? 'true' : 'false');
    const meta = streaming ? '' : text('#answer .answer-meta');
    const news = [text('#notice'), meta && 'Answer ready: ' + meta, text('#lib-notice')].filter(Boolean);
    const now = news.join('. ');
    if (now !== last) { last = now; say.textContent = now; }
  };
  // Tabs as a screen reader announces them: the arrow keys (and Home, End) move to the next tab and open it.
  document.addEventListener('keydown', (ev) => {
    const tab = ev.target.closest && ev.target.closest('[role=tab]');
    const keys = {ArrowRight: 1, ArrowLeft: -1, Home: 'first', End: 'last'};
    if (!tab || !(ev.key in keys)) return;
    const tabs = [...tab.closest('[role=tablist]').querySelectorAll('[role=tab]:not([disabled])')];
    const step = keys[ev.key], at = tabs.indexOf(tab);
    const next = step === 'first' ? tabs[0] : step === 'last' ? tabs[tabs.length - 1]
      : tabs[(at + step + tabs.length) % tabs.length];
    ev.preventDefault(); next.focus(); next.click();
  });
  new MutationObserver(sync).observe(document.body,
    {subtree: true, childList: true, characterData: true, attributes: true,
     // the chart's label, when Vega sets its own again; a radio's name, when Gradio sets its own again
     attributeFilter: ['class', 'aria-label', 'name']});
  sync();
}
