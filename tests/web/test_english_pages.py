"""The pages in English are a translation, not a rewrite (issue 9): MOTCUA_PAGES_LANGUAGE=en
serves the same templates through web/locale/en's catalogue."""

from __future__ import annotations

from pathlib import Path

import httpx

from api.app import create_app
from api.auth import Authenticator
from settings import Settings

SECRET = "test-secret-of-at-least-thirty-two-bytes!"


async def _signin_page(language: str, data_dir: Path) -> str:
    settings = Settings(data_dir=data_dir, pages_language=language)
    app = create_app(settings, Authenticator.with_secret(SECRET))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pages") as http:
            answer = await http.get("/signin")
            assert answer.status_code == 200
            return answer.text


async def test_the_sign_in_page_reads_in_english_and_in_vietnamese(tmp_path: Path) -> None:
    english = await _signin_page("en", tmp_path)
    assert '<html lang="en">' in english
    assert "Sign in" in english and "Đăng nhập" not in english
    vietnamese = await _signin_page("vi", tmp_path)
    assert '<html lang="vi">' in vietnamese and "Đăng nhập" in vietnamese
