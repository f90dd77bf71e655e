"""Publishing zone: the negotiation brief (papermill), its exports and results.json.

* :mod:`valuation.report.runner` -- ``run_brief``: prepare, execute, export, scan, publish;
* :mod:`valuation.report.export` -- offline HTML without code (nbconvert), A4 PDF (WeasyPrint);
* :mod:`valuation.report.kernel` -- the brief's kernel over IPC, not TCP;
* :mod:`valuation.report.formatting` -- money, dates, shares in both languages (text, tables, axes);
* :mod:`valuation.report.portfolio` -- portfolio.html / portfolio.csv of a batch;
* :mod:`valuation.report.results` -- ``results.json``;
* :mod:`valuation.report.text` -- every narrative string, per language;
* :mod:`valuation.report.sections` -- what the brief notebook shows, section by section;
* :mod:`valuation.report.tables` -- published tables: formatted, labelled, small cells suppressed.
"""
