"""The course's own tooling: student copies, site, data building, pretraining, the learner's workspace.

Nothing here is called from a lesson; it is what ``make`` runs around them.
"""
