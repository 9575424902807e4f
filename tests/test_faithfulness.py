from jiandu.faithfulness import check_bullets

MIDJOURNEY_ARTICLE = (
    "Midjourney AI Alpha is the latest version of the popular image generator. Midjourney first "
    "launched in 2021 as a private beta on Discord. In November 2022 it introduced an Alpha web "
    "interface, removing the need for a Discord account."
)
ADOBE_ARTICLE = "Adobe和Figma宣布终止200亿美元的收购计划，原因是英国和欧盟监管机构的反对。Figma股价周一上涨15%。"


def test_seed_002_invented_maker_is_flagged():
    bullets = ["Midjourney AI Alpha是一款领先的AI图像生成工具，由Anthropic开发。", "Midjourney于2021年首次在Discord上发布。"]
    assert check_bullets(bullets, MIDJOURNEY_ARTICLE) == ["Anthropic"]


def test_faithful_bullets_pass_in_both_languages():
    assert check_bullets(["Midjourney在2022年推出Alpha网页界面，无需Discord帐户。"], MIDJOURNEY_ARTICLE) == []
    assert check_bullets(["Adobe终止以200亿美元收购Figma的计划，Figma股价上涨15%。"], ADOBE_ARTICLE) == []


def test_magnitudes_separators_width_and_spacing_are_one_number():
    for written in ("200亿", "200 亿", "20,000,000,000", "２００亿", "20000000000"):
        assert check_bullets([f"Adobe放弃{written}美元交易"], ADOBE_ARTICLE) == [], written
    english = "Adobe agreed to pay $20 billion for Figma, 1.5 million users."
    assert check_bullets(["Adobe以200亿美元收购Figma，用户150万。"], english) == []


def test_wrong_numbers_and_percentages_are_flagged():
    assert check_bullets(["Adobe放弃300亿美元交易，股价上涨16%。"], ADOBE_ARTICLE) == ["300亿", "16%"]
    # "15 percent" is the article's 15%
    assert check_bullets(["The stock rose 15 percent."], ADOBE_ARTICLE) == []


def test_chinese_comma_is_not_a_thousands_separator():
    article = "公司共有5人，300台服务器。"
    assert check_bullets(["公司有5人，300台服务器。"], article) == []
    assert check_bullets(["公司有5,300台服务器。"], article) == ["5,300"]


def test_small_counts_are_not_checked():
    assert check_bullets(["Adobe与Figma的3个月谈判结束。"], ADOBE_ARTICLE) == []


def test_latin_names_match_case_insensitively_but_as_whole_words():
    article = "OpenAI said the model is safe. The paid plan costs more."
    assert check_bullets(["OPENAI表示模型是安全的。"], article) == []
    assert check_bullets(["AI公司表示"], article) == ["AI"]  # "ai" inside "said" or "paid" does not count


def test_quoted_terms_must_occur():
    article = "他们称之为“地球末日”鸡尾酒，并在《自然》杂志发表。"
    assert check_bullets(["这款「地球末日」鸡尾酒登上《自然》。"], article) == []
    assert check_bullets(["这款“宇宙尽头”鸡尾酒。"], article) == ["“宇宙尽头”"]


def test_chinese_quotes_of_an_english_article_are_translations():
    assert check_bullets(["奥巴马称之为“最大的挫折”。"], "Obama called it his 'biggest frustration'.") == []


def test_sentence_initial_capitals_are_not_names_but_real_names_are():
    article = "Figma shares rose 15% on Monday."
    assert check_bullets(["The stock rose. Shares of Figma rose 15%."], article) == []
    assert check_bullets(["The stock rose as Adobe shares fell."], article) == ["Adobe"]


def test_a_name_with_leading_digits_is_one_name():
    article = "AgileBits hat Version 5.3 seines Passwortmanagers 1Password für OS X freigegeben."
    assert check_bullets(["1Password 5.3 für OS X ist da."], article) == []
    assert check_bullets(["2Password 5.3 für OS X ist da."], article) == ["2Password"]
