"""Stories for the review tests, straight into the database as summarise leaves them: each
with an article text that states its own numbers and names, so edits can be checked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from jiandu.records import FeedEntry, Summary
from jiandu.models import store
from jiandu.models.schema import Item

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # 12:00 in Asia/Shanghai

ARTICLES = [
    ("OpenAI发布新的安全框架", "🛡️", "产业资讯", 5,
     "OpenAI于周一发布了新的安全框架，涉及12个风险类别。该公司表示，框架将由独立委员会审查。"
     "新框架要求在模型发布前完成红队测试，并公开评估结果。分析人士认为这将影响整个行业。" * 3),
    ("Midjourney推出视频模型", "🎬", "产品介绍", 4,
     "Midjourney推出了首个视频生成模型V1，用户可以把图片变成5秒的短视频。"
     "该模型目前只在网页端提供，订阅价格为每月10美元起。公司创始人称视频是通往实时世界模拟的一步。" * 3),
    ("谷歌开源Gemma新版本", "🤖", "技术教程", 3,
     "谷歌开源了Gemma 3模型，参数规模从10亿到270亿不等。开发者可以在单张显卡上运行最小的版本。"
     "谷歌同时发布了微调教程和量化工具，帮助开发者在本地部署。" * 3),
    ("英伟达财报超预期", "📈", "产业资讯", 2,
     "英伟达公布季度营收为350亿美元，同比增长94%。数据中心业务贡献了大部分收入。"
     "公司预计下一季度营收将达到375亿美元，高于分析师预期。" * 3),
]


def bullets_of(text: str) -> list[str]:
    sentences = [s + "。" for s in text.split("。") if s]
    return [sentences[0] + sentences[1], sentences[2] + sentences[3] if len(sentences) > 3 else sentences[2],
            sentences[1] + sentences[0]]


def summarised_stories(rt, count: int = 4) -> list[int]:
    """`count` stories (up to four kinds, repeated) summarised and waiting for an issue."""
    with rt.sessions.begin() as session:
        source, _ = store.add_source(session, kind="feed", url="http://example.com/feed.xml",
                                     name="Example")
        base = session.query(Item).count()
        entries = [FeedEntry(key=f"guid:{base + n}", url=f"http://example.com/news/{base + n}",
                             guid=str(base + n), title=ARTICLES[n % len(ARTICLES)][0],
                             published=NOW - timedelta(hours=n)) for n in range(count)]
        store.add_feed_entries(session, source, entries, NOW)
        items = session.query(Item).filter(Item.id > base).order_by(Item.id).all()
        for n, item in enumerate(items):
            title, emoji, section, importance, text = ARTICLES[n % len(ARTICLES)]
            text = f"（第{item.id}篇）" + text
            blob = store.text_for(session, text, len(text), None)
            row = store.store_summary(session, blob.sha256, Summary(
                title=title, emoji=emoji, section=section, importance=importance,
                bullets=bullets_of(text), model="test-model", prompt_version="v1",
                prompt_tokens=100, completion_tokens=50, faithful=True))
            item.text_id, item.story_id, item.summary_id = blob.id, item.id, row.id
            item.text_origin = "page"
            item.status = "summarised"
        return [item.id for item in items]
