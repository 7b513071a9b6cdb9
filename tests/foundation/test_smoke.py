def test_health_answers_ok_on_each_database(client, env):
    assert client.get("/healthz").json() == {"status": "ok"}
