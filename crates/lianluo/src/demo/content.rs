//! What the demo brand, Lumio (流明科技), sells and how its customers talk: bilingual scenario
//! templates with slots filled from the catalogue.

/// A product of the fictional brand.
pub struct Product {
    pub tag: &'static str,
    pub en: &'static str,
    pub zh: &'static str,
    pub price: u32,
}

pub const PRODUCTS: &[Product] = &[
    Product { tag: "buds-pro-2", en: "Lumio Buds Pro 2", zh: "流明 Buds Pro 2 降噪耳机", price: 899 },
    Product { tag: "watch-s3", en: "Lumio Watch S3", zh: "流明 Watch S3 智能手表", price: 1299 },
    Product {
        tag: "powercube-20k",
        en: "Lumio PowerCube 20K power bank",
        zh: "流明 PowerCube 20000mAh 移动电源",
        price: 199,
    },
    Product {
        tag: "echo-mini", en: "Lumio Echo Mini speaker", zh: "流明 Echo Mini 蓝牙音箱", price: 349
    },
    Product { tag: "pad-11", en: "Lumio Pad 11 tablet", zh: "流明 Pad 11 平板", price: 2499 },
    Product {
        tag: "charger-65w", en: "Lumio 65W GaN charger", zh: "流明 65W 氮化镓充电器", price: 159
    },
];

pub const CITIES_ZH: &[&str] =
    &["上海", "北京", "杭州", "深圳", "广州", "成都", "武汉", "南京", "西安", "苏州", "重庆", "长沙"];
pub const CITIES_EN: &[&str] =
    &["Hong Kong", "Singapore", "Kuala Lumpur", "Taipei", "Sydney", "London", "Vancouver", "Shanghai"];
pub const COURIERS_ZH: &[&str] = &["顺丰", "京东物流", "中通", "圆通"];
pub const COURIERS_EN: &[&str] = &["SF Express", "DHL", "FedEx", "Cainiao"];

pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
    "林", "高", "罗",
];
pub const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超",
    "秀英", "霞", "婷婷", "子涵", "浩然", "欣怡", "宇轩",
];
pub const FIRST_EN: &[&str] = &[
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Mia", "Lucas", "Chloe", "Ryan", "Grace", "Daniel",
    "Sophie", "Jason", "Hannah", "Kevin", "Zoe", "Marcus", "Priya", "Wei",
];
pub const LAST_EN: &[&str] = &[
    "Smith", "Chan", "Wong", "Tan", "Lee", "Brown", "Ng", "Patel", "Garcia", "Kim", "Lim", "Taylor",
    "Martin", "Ho", "Nguyen",
];

/// Who speaks a turn.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Customer,
    Agent,
    Note,
}

/// A kind of conversation customers have with the brand.
pub struct Scenario {
    pub key: &'static str,
    /// Which team handles it: 0 pre-sales, 1 after-sales, 2 VIP.
    pub team: usize,
    pub tags: &'static [&'static str],
    /// Relative frequency.
    pub weight: usize,
    pub angry: bool,
    pub en: &'static [(Who, &'static [&'static str])],
    pub zh: &'static [(Who, &'static [&'static str])],
}

use Who::{Agent as A, Customer as C, Note as N};

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        key: "product-question",
        team: 0,
        tags: &["pre-sales"],
        weight: 16,
        angry: false,
        en: &[
            (
                C,
                &[
                    "Hi, does the {product} support wireless charging?",
                    "Quick question: how long does the battery of the {product} last?",
                    "Is the {product} compatible with iPhone and Android?",
                    "What's the difference between the {product} and the previous model?",
                ],
            ),
            (
                A,
                &[
                    "Hi! Thanks for reaching out. The {product} gets about 30 hours with the case, and yes, it works with both iPhone and Android.",
                    "Hello! Yes, it does. A full charge takes about 90 minutes and lasts most users two full days.",
                ],
            ),
            (
                C,
                &[
                    "Great. Is it waterproof?",
                    "Does it come with a charger in the box?",
                    "OK and what colours do you have?",
                ],
            ),
            (
                A,
                &[
                    "It is rated IPX4, so sweat and rain are fine, but please don't swim with it.",
                    "The box has a USB-C cable; the 65W GaN charger is sold separately.",
                    "We have Midnight Black, Frost White and Sage Green.",
                ],
            ),
            (
                C,
                &[
                    "Perfect, thanks!",
                    "Thanks, I'll order one today.",
                    "Got it, appreciate the quick answer.",
                ],
            ),
        ],
        zh: &[
            (
                C,
                &[
                    "你好，{product}支持无线充电吗？",
                    "请问{product}的续航大概多久？",
                    "{product}安卓和苹果手机都能用吗？",
                    "{product}和上一代有什么区别呀？",
                ],
            ),
            (
                A,
                &[
                    "您好，感谢咨询！{product}配合充电盒续航约30小时，安卓和苹果都可以正常使用哦。",
                    "亲，您好~支持的哦，充满大约90分钟，一般可以用两天。",
                ],
            ),
            (C, &["防水吗？", "盒子里有充电头吗？", "有哪些颜色可以选？"]),
            (
                A,
                &[
                    "支持IPX4级防水，出汗下雨都没问题，但不建议游泳时佩戴哦。",
                    "包装内含USB-C数据线，65W氮化镓充电器需要单独购买。",
                    "目前有曜石黑、霜白和鼠尾草绿三种颜色。",
                ],
            ),
            (C, &["好的，谢谢！", "明白了，我去下单了。", "好的，了解了👍"]),
        ],
    },
    Scenario {
        key: "order-status",
        team: 1,
        tags: &["shipping"],
        weight: 18,
        angry: false,
        en: &[
            (
                C,
                &[
                    "Hi, where is my order {order}? It's been {days} days.",
                    "My order {order} still hasn't arrived, can you check?",
                    "Can you tell me when order {order} will ship?",
                ],
            ),
            (
                A,
                &[
                    "Sorry for the wait! Let me check order {order} for you.",
                    "Thanks for your patience, I'm looking up {order} now.",
                ],
            ),
            (
                A,
                &[
                    "It left our warehouse yesterday with {courier}; the tracking shows it is in {city} and should arrive within 2 days.",
                    "It shipped with {courier} this morning. You'll get the tracking number by SMS shortly.",
                ],
            ),
            (
                C,
                &[
                    "OK, thanks for checking.",
                    "Great, thank you!",
                    "Can you make sure it's delivered before the weekend?",
                ],
            ),
            (
                A,
                &[
                    "You're welcome! Anything else I can help with?",
                    "I've added a note for the courier. Have a nice day!",
                ],
            ),
        ],
        zh: &[
            (
                C,
                &[
                    "你好，我的订单{order}怎么还没到？已经{days}天了",
                    "订单{order}到哪了？帮我查一下",
                    "请问订单{order}什么时候发货？",
                ],
            ),
            (A, &["亲，抱歉让您久等了，我马上帮您查询订单{order}。", "您好，正在为您查询{order}，请稍等~"]),
            (
                A,
                &[
                    "查到了，您的包裹昨天已由{courier}发出，目前在{city}，预计2天内送达。",
                    "您的订单今天上午已通过{courier}发出，物流单号稍后会短信通知您。",
                ],
            ),
            (C, &["好的，谢谢", "收到，辛苦了", "能不能周末前送到？"]),
            (A, &["不客气，还有其他可以帮您的吗？", "已经帮您备注催促快递了，祝您生活愉快！"]),
        ],
    },
    Scenario {
        key: "return-refund",
        team: 1,
        tags: &["returns", "refund"],
        weight: 12,
        angry: false,
        en: &[
            (
                C,
                &[
                    "I'd like to return the {product}, it doesn't fit my needs. Order {order}.",
                    "How do I get a refund for order {order}? I changed my mind about the {product}.",
                    "Can I still return the {product}? I bought it {days} days ago.",
                ],
            ),
            (
                A,
                &[
                    "Of course. Unused items in original packaging can be returned within 30 days of delivery.",
                    "No problem. You're within our 30-day return window, so you can return it for a full refund.",
                ],
            ),
            (
                N,
                &[
                    "Checked the order: delivered within the return window, eligible.",
                    "Customer has a previous return this quarter, still eligible.",
                ],
            ),
            (
                A,
                &[
                    "I've created return request for {order}. A {courier} courier will pick it up; the refund of ¥{amount} reaches your original payment method within 3-5 business days after we receive it.",
                ],
            ),
            (
                C,
                &[
                    "Thank you, that was easy.",
                    "OK, when will the courier come?",
                    "Great, thanks for the help.",
                ],
            ),
        ],
        zh: &[
            (
                C,
                &[
                    "我想退货，{product}不太适合我，订单号{order}",
                    "订单{order}怎么申请退款？",
                    "买了{days}天的{product}还能退吗？",
                ],
            ),
            (
                A,
                &[
                    "亲，可以的。签收后30天内，商品未使用且包装完好即可申请退货。",
                    "您好，您的订单还在30天退货期内，可以全额退款哦。",
                ],
            ),
            (N, &["已核实订单，在退货期内，符合条件。", "该客户本季度有过一次退货，仍符合条件。"]),
            (
                A,
                &[
                    "已为您提交订单{order}的退货申请，{courier}快递员会上门取件，我们收到商品后3-5个工作日内原路退回¥{amount}。",
                ],
            ),
            (C, &["好的，谢谢", "快递员什么时候来取？", "很方便，感谢！"]),
        ],
    },
    Scenario {
        key: "defect-complaint",
        team: 1,
        tags: &["complaint", "defect"],
        weight: 9,
        angry: true,
        en: &[
            (
                C,
                &[
                    "This is ridiculous. My {product} stopped working after {days} days!!",
                    "Your {product} is junk. The left side has no sound and nobody answered my email.",
                    "I am really angry. Second time the {product} broke. I want my money back NOW.",
                ],
            ),
            (
                A,
                &[
                    "I'm really sorry, that's not the experience we want you to have. Let me fix this right away.",
                    "I completely understand your frustration and I apologise. Could you share your order number?",
                ],
            ),
            (
                C,
                &[
                    "Order {order}. I want a replacement today, not next week.",
                    "{order}. I've already wasted enough time on this.",
                ],
            ),
            (
                N,
                &[
                    "Angry customer, second defect. Escalate to VIP team if unresolved today.",
                    "Approved express replacement, skip the inspection step.",
                ],
            ),
            (
                A,
                &[
                    "I've arranged an express replacement that ships today with {courier}, and you don't need to send the faulty unit back first. I've also added a ¥50 coupon to your account for the trouble.",
                ],
            ),
            (
                C,
                &[
                    "Fine. I hope this one works.",
                    "OK, that's better. Thanks.",
                    "Alright. Let's see if it arrives.",
                ],
            ),
        ],
        zh: &[
            (
                C,
                &[
                    "太离谱了！{product}才用了{days}天就坏了！！",
                    "你们的{product}左耳没声音，发邮件也没人回，什么服务？",
                    "我真的很生气，{product}第二次坏了，马上给我退款！",
                ],
            ),
            (
                A,
                &[
                    "非常抱歉给您带来这么糟糕的体验，我马上为您处理。",
                    "完全理解您的心情，真的很抱歉。麻烦提供一下订单号，我立刻跟进。",
                ],
            ),
            (C, &["订单号{order}，今天就要给我换新的", "{order}，我已经浪费很多时间了"]),
            (N, &["客户情绪激动，第二次故障。今天未解决则升级到VIP组。", "已批准加急换新，跳过检测环节。"]),
            (
                A,
                &[
                    "已为您安排加急换新，今天通过{courier}发出，旧机无需先寄回。另外给您账户补偿了一张50元优惠券，再次抱歉。",
                ],
            ),
            (C, &["行吧，希望这次没问题", "好吧，这还差不多", "嗯，等收到再说"]),
        ],
    },
    Scenario {
        key: "praise",
        team: 0,
        tags: &["praise"],
        weight: 5,
        angry: false,
        en: &[
            (
                C,
                &[
                    "Just wanted to say the {product} is amazing. Best purchase this year!",
                    "Your support team was super helpful last week, thank you!",
                    "Love my new {product}, the sound is incredible.",
                ],
            ),
            (
                A,
                &[
                    "That made our day, thank you so much for telling us! 😊",
                    "Thank you! We'll pass this on to the team.",
                ],
            ),
        ],
        zh: &[
            (
                C,
                &[
                    "{product}太好用了，今年买得最值的东西！",
                    "上周客服小姐姐很耐心，必须表扬一下",
                    "新买的{product}音质绝了，爱了爱了",
                ],
            ),
            (A, &["收到您的夸奖太开心啦，谢谢您的支持！😊", "谢谢亲的认可，我们会转达给团队的~"]),
        ],
    },
    Scenario {
        key: "warranty-repair",
        team: 1,
        tags: &["warranty"],
        weight: 7,
        angry: false,
        en: &[
            (
                C,
                &[
                    "My {product} won't charge anymore. Is it still under warranty? I bought it about a year ago.",
                    "The screen of my {product} flickers. How does repair work?",
                ],
            ),
            (
                A,
                &[
                    "Sorry to hear that. All Lumio products have a 1-year warranty from the date of delivery, and the Watch S3 has 2 years.",
                ],
            ),
            (
                A,
                &[
                    "Please send a short video of the issue and your order number, and I'll open a repair ticket.",
                ],
            ),
            (C, &["Sent. Order {order}.", "Here's the video. Order number {order}."]),
            (
                A,
                &[
                    "Thanks, ticket opened. We'll send a prepaid {courier} label; repairs take about 7 working days.",
                ],
            ),
        ],
        zh: &[
            (C, &["{product}充不进电了，还在保修期吗？大概一年前买的", "{product}屏幕一直闪，怎么维修？"]),
            (A, &["很抱歉给您添麻烦了。流明全系产品自签收起保修1年，Watch S3保修2年。"]),
            (A, &["麻烦您拍一段故障视频并提供订单号，我帮您登记维修。"]),
            (C, &["发了，订单号{order}", "视频已发，订单{order}"]),
            (A, &["已登记维修单，我们会发送{courier}到付面单，维修周期约7个工作日。"]),
        ],
    },
    Scenario {
        key: "pairing-help",
        team: 1,
        tags: &["tech-support"],
        weight: 8,
        angry: false,
        en: &[
            (
                C,
                &[
                    "I can't pair the {product} with my laptop, it doesn't show up in Bluetooth.",
                    "How do I reset the {product}? It keeps disconnecting.",
                ],
            ),
            (
                A,
                &[
                    "Let's try a reset: put both earbuds in the case, keep the lid open and hold the button for 10 seconds until the light flashes white.",
                ],
            ),
            (C, &["It flashed white. Now it shows up!", "Still not working...", "Done, thank you!"]),
            (
                A,
                &[
                    "Great! If it disconnects again, update the firmware in the Lumio app.",
                    "Please try removing the device from your laptop's Bluetooth list and pairing again.",
                ],
            ),
        ],
        zh: &[
            (C, &["{product}连不上电脑，蓝牙里搜不到", "{product}老是断连，怎么重置？"]),
            (A, &["您试一下重置：把耳机放回充电盒，打开盒盖，长按按键10秒直到指示灯白灯闪烁。"]),
            (C, &["白灯闪了，能搜到了！", "还是不行……", "好了，谢谢"]),
            (
                A,
                &[
                    "太好了！如果再断连，可以在流明App里升级固件。",
                    "请在电脑蓝牙列表中删除该设备后重新配对试试。",
                ],
            ),
        ],
    },
    Scenario {
        key: "invoice",
        team: 0,
        tags: &["invoice"],
        weight: 5,
        angry: false,
        en: &[
            (
                C,
                &[
                    "Can I get a VAT invoice for order {order}? It's for my company.",
                    "I need a receipt for order {order} for reimbursement.",
                ],
            ),
            (
                A,
                &[
                    "Sure. Please send your company name and tax ID, and we'll email an electronic invoice within 24 hours.",
                ],
            ),
            (
                C,
                &[
                    "Company: Bright Path Trading Ltd, tax ID 91310000MA1K000000.",
                    "Sent the details by email.",
                ],
            ),
            (A, &["Received, the invoice will arrive by email tomorrow at the latest."]),
        ],
        zh: &[
            (C, &["订单{order}可以开增值税专票吗？公司报销用", "需要开发票，订单{order}"]),
            (A, &["可以的，请提供公司抬头和税号，我们会在24小时内发送电子发票到您的邮箱。"]),
            (C, &["抬头：杭州明远贸易有限公司，税号91330100MA2K000000", "信息已经发邮件了"]),
            (A, &["收到，发票最晚明天发送到您的邮箱。"]),
        ],
    },
    Scenario {
        key: "promotion-live",
        team: 0,
        tags: &["promotion", "live-commerce"],
        weight: 8,
        angry: false,
        en: &[
            (
                C,
                &[
                    "Saw the livestream yesterday, is the ¥{amount} deal on the {product} still available?",
                    "Does the Singles' Day discount apply to the {product}?",
                ],
            ),
            (
                A,
                &[
                    "The livestream price ended at midnight, but you can still use coupon LUMIO50 for ¥50 off until Sunday.",
                ],
            ),
            (C, &["OK, I'll use the coupon.", "Can I combine it with free shipping?"]),
            (A, &["Yes, orders over ¥99 ship free, and the coupon applies on top."]),
        ],
        zh: &[
            (
                C,
                &[
                    "昨天直播间的{product}¥{amount}活动还有吗？",
                    "双十一优惠{product}能用吗？",
                    "主播说的赠品还有吗？",
                ],
            ),
            (A, &["直播价已经在零点结束啦，不过现在领取优惠券LUMIO50还可以立减50元，周日前有效。"]),
            (C, &["好的，我去领券", "能和包邮一起用吗？"]),
            (A, &["可以的，满99元包邮，优惠券可以叠加使用。"]),
        ],
    },
    Scenario {
        key: "address-change",
        team: 1,
        tags: &["shipping", "order-change"],
        weight: 6,
        angry: false,
        en: &[
            (
                C,
                &[
                    "I need to change the delivery address for order {order}, I've moved to {city}.",
                    "Can I cancel order {order}? I ordered the wrong colour.",
                ],
            ),
            (A, &["If it hasn't shipped yet I can change it for you. Let me check."]),
            (
                A,
                &[
                    "Good news, it hasn't left the warehouse. I've updated it.",
                    "It already shipped, but I've asked {courier} to redirect it.",
                ],
            ),
            (C, &["Thank you so much!", "Phew, thanks."]),
        ],
        zh: &[
            (C, &["订单{order}的收货地址要改一下，我搬到{city}了", "订单{order}能取消吗？颜色拍错了"]),
            (A, &["如果还没发货是可以修改的，我帮您看一下。"]),
            (A, &["还没出库，已经帮您修改好了。", "已经发货了，我联系{courier}帮您改派。"]),
            (C, &["太感谢了！", "好的，谢谢"]),
        ],
    },
    Scenario {
        key: "vip-bulk-order",
        team: 2,
        tags: &["vip", "wholesale"],
        weight: 3,
        angry: false,
        en: &[
            (
                C,
                &[
                    "We'd like to order 50 units of the {product} as employee gifts. Is there a volume discount?",
                ],
            ),
            (
                A,
                &[
                    "Thank you! For 50 units we can offer 12% off plus custom engraving. Shall I send a quote?",
                ],
            ),
            (C, &["Yes please, to my email.", "Can you deliver before the end of the month?"]),
            (N, &["Corporate lead, follow up in 2 days if no reply."]),
            (A, &["Quote sent. Delivery within 10 working days is no problem."]),
        ],
        zh: &[
            (C, &["我们公司想采购50台{product}做员工福利，有团购价吗？"]),
            (A, &["感谢信任！50台可以享受88折，并免费提供定制刻字，需要我发一份报价单给您吗？"]),
            (C, &["好的，发我邮箱", "月底前能到货吗？"]),
            (N, &["企业客户线索，2天内无回复需跟进。"]),
            (A, &["报价单已发送，10个工作日内交货没有问题。"]),
        ],
    },
    Scenario {
        key: "late-delivery-anger",
        team: 1,
        tags: &["shipping", "complaint"],
        weight: 5,
        angry: true,
        en: &[
            (
                C,
                &[
                    "Worst service ever. Order {order} was promised in 2 days and it's been {days} days. Unacceptable.",
                    "Where is my stuff?! {order}. I paid for express shipping!!!",
                ],
            ),
            (A, &["I'm very sorry. That's not acceptable and I'm escalating it with {courier} right now."]),
            (
                A,
                &[
                    "The parcel was held at the {city} hub. It's out for delivery today, and I've refunded your shipping fee.",
                ],
            ),
            (C, &["It better arrive today.", "Fine."]),
        ],
        zh: &[
            (
                C,
                &[
                    "什么破服务！订单{order}说两天到，现在{days}天了！",
                    "我的东西呢？！{order}我付了加急运费的！！！",
                ],
            ),
            (A, &["非常抱歉，这确实不应该发生，我马上联系{courier}加急处理。"]),
            (A, &["包裹滞留在{city}转运中心，今天已经安排派送，运费已经原路退还给您。"]),
            (C, &["今天必须到", "行吧"]),
        ],
    },
];
