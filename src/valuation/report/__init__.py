"""Publishing zone: the negotiation brief (papermill), its exports and results.json.

* :mod:`valuation.report.runner` -- ``run_brief``: prepare, execute, export, scan, publish;
* :mod:`valuation.report.export` -- HTML without code (nbconvert), PDF (headless Chromium);
* :mod:`valuation.report.results` -- ``results.json``;
* :mod:`valuation.report.text` -- every narrative string, per language;
* :mod:`valuation.report.sections` -- what the brief notebook shows, section by section;
* :mod:`valuation.report.tables` -- published tables: formatted, labelled, small cells suppressed.
"""
