"""The controllers: the base class (``controller``), the manager that runs them
(``manager``) and one module per controller."""
