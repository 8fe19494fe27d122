"""The billing rules: order types, billing periods, proration, eligibility, the addition plan.

Pure and stdlib-only: no I/O, no clock, no ORM. Every other layer imports from here; this
package imports from nowhere else.
"""
