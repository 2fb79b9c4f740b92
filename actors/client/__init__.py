"""How a component talks to the apiserver: the client, informers and shared informers,
the events recorder, leader election and the credentials that open a session."""
