//! Language helpers shared by chunking, retrieval and answering.

/// True for Han characters and CJK punctuation.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x3000..=0x303F | 0xFF00..=0xFFEF)
}

/// The language a text is mostly written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// Chinese as soon as a fifth of the letters are Han characters (mixed text such as "AirBeat 2 怎么配对"
/// is Chinese to its reader).
pub fn detect(text: &str) -> Lang {
    let (mut han, mut latin) = (0usize, 0usize);
    for c in text.chars() {
        if is_cjk(c) && c.is_alphabetic() {
            han += 1;
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    // A Latin word is several letters; weigh a Han character like a short word.
    if han * 4 >= latin.max(1) { Lang::Zh } else { Lang::En }
}

/// A rough count of model tokens: one per Han character, about one per four Latin letters.
pub fn estimate_tokens(text: &str) -> usize {
    let (mut n, mut run) = (0usize, 0usize);
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            run += 1;
            continue;
        }
        n += run.div_ceil(4);
        run = 0;
        if !c.is_whitespace() {
            n += 1;
        }
    }
    n + run.div_ceil(4)
}

/// Common words that carry no meaning for matching a question to a passage.
pub fn is_stopword(w: &str) -> bool {
    const EN: &[&str] = &[
        "a", "an", "the", "is", "are", "was", "were", "be", "been", "do", "does", "did", "i", "you", "we",
        "my", "your", "our", "it", "its", "to", "of", "in", "on", "for", "and", "or", "with", "can", "could",
        "how", "what", "when", "where", "which", "who", "why", "will", "would", "should", "there", "this",
        "that", "me", "if", "at", "by", "from", "as", "so", "any", "have", "has", "not", "no", "yes",
        "please", "hi", "hello", "about", "get", "much", "many", "long", "am", "they", "them", "their", "he",
        "she", "just", "than", "then", "into", "out", "up", "some", "all", "s", "t", "don", "also", "need",
        "want", "know", "tell", "there", "here", "way", "ok", "okay", "thanks", "thank",
    ];
    const ZH: &[&str] = &[
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "是",
        "我",
        "你",
        "您",
        "我们",
        "你们",
        "在",
        "有",
        "和",
        "与",
        "就",
        "都",
        "也",
        "还",
        "要",
        "会",
        "能",
        "可以",
        "怎么",
        "怎么办",
        "什么",
        "多少",
        "如何",
        "请问",
        "一下",
        "这个",
        "那个",
        "这",
        "那",
        "吗？",
        "呀",
        "哪",
        "哪里",
        "为什么",
        "可",
        "不",
        "没有",
        "个",
        "把",
        "被",
        "让",
        "给",
        "对",
        "到",
        "从",
        "想",
        "请",
        "谢谢",
        "好",
        "嗯",
        "哦",
        "多久",
        "多长时间",
        "几天",
        "什么时候",
        "时候",
        "怎样",
        "怎么样",
        "是不是",
        "有没有",
        "能不能",
        "可不可以",
        "需要",
        "知道",
        "问",
        "问题",
        "一个",
        "们",
    ];
    let w = w.trim();
    w.is_empty() || EN.contains(&w) || ZH.contains(&w) || w.chars().all(|c| !c.is_alphanumeric())
}
