"""The earn-out monitor (issue 19): measure the term sheet's metric on the buyer's
post-closing exports, compare it with the brief's forecast and compute the payout.

* :mod:`~valuation.monitor.metric` -- the metric's definition and the payout function;
* :mod:`~valuation.monitor.exports` -- the buyer's exports through the ingest and gate;
* :mod:`~valuation.monitor.measure` -- the term sheet, the forecast and the comparison;
* :mod:`~valuation.monitor.publish` -- ``monitor.html`` / ``monitor.json``, scanned.
"""
