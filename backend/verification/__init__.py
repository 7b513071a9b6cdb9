"""Auditor workspace (审计工作台): verify any PDF, registry look-up, audit-log browser and export."""
