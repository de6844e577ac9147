"""Deployment tests: rendered kustomizations, RBAC, the manager pod, the image and Makefile."""
