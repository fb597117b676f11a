"""Checkpoints of a project funded through a call: the 中期检查 (mid-term report, reviewed by experts), the 验收
(acceptance application and its review, with one rectification) and the one 延期 (extension) a project may ask for.
揭榜挂帅 projects are checked by their milestones and the poster's acceptance instead (``projects.challenges``)."""
