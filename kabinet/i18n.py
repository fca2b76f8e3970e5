"""User-facing text in Ukrainian (default) and English.

Every message a person can read (errors, emails, SMS, the emailed-link pages) has a
key here with both translations; ``tests/test_i18n.py`` fails when one is missing.
"""

import math
from dataclasses import dataclass
from enum import StrEnum


class Locale(StrEnum):
    UK = "uk"
    EN = "en"


DEFAULT_LOCALE = Locale.UK

MESSAGES: dict[str, dict[Locale, str]] = {
    # Authentication and authorisation (GraphQL errors)
    "auth.required": {
        Locale.UK: "Увійдіть до кабінету, щоб продовжити.",
        Locale.EN: "Please sign in to continue.",
    },
    "auth.forbidden": {
        Locale.UK: "У вас немає прав на цю дію.",
        Locale.EN: "You are not allowed to do this.",
    },
    "error.unexpected": {
        Locale.UK: "Сталася неочікувана помилка. Спробуйте ще раз або зверніться до підтримки "
        "(код запиту {request_id}).",
        Locale.EN: "Unexpected error. Please try again or contact support "
        "(request id {request_id}).",
    },
    "http.csrf": {
        Locale.UK: "Браузер може надіслати запит із таким типом вмісту (або без нього, як GET) "
        "з чужого сайту, тому додайте непорожній заголовок GraphQL-Require-Preflight "
        "(захист від CSRF, як в Apollo Server) або надсилайте Content-Type: application/json "
        "за специфікацією GraphQL over HTTP.",
        Locale.EN: "This request has a content type a browser may send cross-site (or none, "
        "as a GET), so add a non-empty GraphQL-Require-Preflight header (CSRF prevention, as in "
        "Apollo Server) or send Content-Type: application/json as the GraphQL over HTTP "
        "specification describes.",
    },
    # WebSockets: close reasons (at most 123 bytes of UTF-8) and subscription refusals
    "ws.too_many_sockets": {
        Locale.UK: "Забагато відкритих з’єднань ({limit}); закрийте зайві.",
        Locale.EN: "Too many open connections ({limit}); close some first.",
    },
    "ws.session_ended": {
        Locale.UK: "Сеанс завершено; увійдіть знову.",
        Locale.EN: "The session has ended; sign in again.",
    },
    "ws.too_slow": {
        Locale.UK: "Події надходили швидше, ніж їх читали; підпишіться знову з since.",
        Locale.EN: "Events came faster than they were read; subscribe again with `since`.",
    },
    "ws.too_many_subscriptions": {
        Locale.UK: "Забагато підписок ({limit}); завершіть зайві, перш ніж відкривати нові.",
        Locale.EN: "Too many subscriptions ({limit}); end some before starting new ones.",
    },
    "events.history_lost": {
        Locale.UK: "Живі оновлення перервано, і частину змін не вдалося надіслати. Підпишіться "
        "знову, вказавши в since час (at) останньої отриманої події: пропущене надійде першим.",
        Locale.EN: "Live updates were interrupted and some changes could not be sent. Subscribe "
        "again with `since` set to the `at` of the last event received: what was missed "
        "comes first.",
    },
    "http.batch": {
        Locale.UK: "Пакетні запити (масив JSON) не приймаються: надсилайте одну операцію в "
        "запиті, як описує специфікація GraphQL over HTTP (об'єкт JSON із полем query).",
        Locale.EN: "Batched requests (a JSON array) are not accepted: send one operation per "
        "request, as the GraphQL over HTTP specification describes (a JSON object with a "
        "query).",
    },
    "http.subscription": {
        Locale.UK: "Підписки (subscription) працюють лише через WebSocket: підключіться до тієї "
        "самої адреси /graphql за протоколом graphql-transport-ws (наприклад, бібліотекою "
        "graphql-ws).",
        Locale.EN: "Subscriptions run over the WebSocket only: connect to the same /graphql "
        "address with the graphql-transport-ws protocol (e.g. the graphql-ws library).",
    },
    "http.not_graphql": {
        Locale.UK: "Тіло запиту не є запитом GraphQL: очікується об'єкт JSON із полем query "
        "(або форма multipart за специфікацією GraphQL multipart request).",
        Locale.EN: "The request body is not a GraphQL request: a JSON object with a query is "
        "expected (or a form following the GraphQL multipart request spec).",
    },
    "http.body_too_large": {
        Locale.UK: "Тіло запиту завелике: щонайбільше {limit} байтів.",
        Locale.EN: "The request body is too large: at most {limit} bytes.",
    },
    "http.body_timeout": {
        Locale.UK: "Тіло запиту надходило надто повільно. Спробуйте ще раз.",
        Locale.EN: "The request body arrived too slowly. Please try again.",
    },
    "http.upload_too_large": {
        Locale.UK: "Завантаження завелике: щонайбільше {files} файлів по {megabytes} МБ "
        "({limit} байтів разом з операцією).",
        Locale.EN: "The upload is too large: at most {files} files of {megabytes} MB each "
        "({limit} bytes in all, with the operation).",
    },
    "error.too_many_comments": {
        Locale.UK: "У заявці вже {limit} повідомлень. Зателефонуйте до контакт-центру.",
        Locale.EN: "This request already has {limit} messages. Please call the contact centre.",
    },
    "error.too_many_objects": {
        Locale.UK: "Запит може повернути до {count} об'єктів, а дозволено {limit}. "
        "Зменшіть `first` або вкладеність списків.",
        Locale.EN: "This document may return up to {count} objects; the limit is {limit}. "
        "Lower `first` or nest fewer lists.",
    },
    "error.too_deep": {
        Locale.UK: "Запит вкладений на {count} рівнів, а дозволено {limit}. "
        "Запитуйте вкладені дані окремим запитом.",
        Locale.EN: "This document nests {count} levels deep; the limit is {limit}. "
        "Ask for the nested data in a separate document.",
    },
    "error.too_many_aliases": {
        Locale.UK: "У запиті {count} псевдонімів (aliases), а дозволено {limit}.",
        Locale.EN: "This document has {count} aliases; the limit is {limit}.",
    },
    "error.too_many_fields": {
        Locale.UK: "Після розгортання фрагментів запит містить {count} полів, а дозволено "
        "{limit}. Не вкладайте фрагменти один в одного багаторазово.",
        Locale.EN: "With its fragments expanded this document selects {count} fields; the "
        "limit is {limit}. Do not spread fragments into each other repeatedly.",
    },
    # Typed errors
    "error.input": {
        Locale.UK: "Перевірте введені дані.",
        Locale.EN: "Please check the data you entered.",
    },
    "error.rate_limited": {
        Locale.UK: "Забагато спроб. Спробуйте ще раз через {wait}.",
        Locale.EN: "Too many attempts. Please try again in {wait}.",
    },
    "error.not_found": {
        Locale.UK: "Не знайдено. Можливо, його видалено або воно вам недоступне.",
        Locale.EN: "Not found. It may have been removed, or it is not available to you.",
    },
    "error.code_invalid": {
        Locale.UK: "Неправильний код. Залишилося спроб: {attempts_left}.",
        Locale.EN: "Wrong code. Attempts left: {attempts_left}.",
    },
    "error.code_dead": {
        Locale.UK: "Спроби вичерпано. Запросіть новий код.",
        Locale.EN: "No attempts left. Please request a new code.",
    },
    "error.code_expired": {
        Locale.UK: "Строк дії коду минув або код ще не надсилали. Запросіть новий код.",
        Locale.EN: "The code has expired or was never sent. Please request a new code.",
    },
    "error.last_phone_has_policies": {
        Locale.UK: "Це ваш останній підтверджений телефон, і через нього до кабінету прив'язано "
        "страхові картки. Спершу додайте й підтвердьте інший номер.",
        Locale.EN: "This is your last confirmed phone and your insurance cards are linked through "
        "it. Add and confirm another number first.",
    },
    "error.no_active_policy": {
        Locale.UK: "Спершу оберіть поліс: підтвердьте телефон у профілі, щоб побачити свої картки.",
        Locale.EN: "Choose a policy first: confirm your phone in the profile to see your cards.",
    },
    "error.policy_not_active": {
        Locale.UK: "Поліс {number} зараз не діє. Оберіть інший або зверніться до контакт-центру.",
        Locale.EN: "Policy {number} is not in force now. Choose another or call the centre.",
    },
    "error.no_policy_in_force": {
        Locale.UK: "Жоден із ваших полісів сьогодні не діє (строк дії минув або дію "
        "призупинено). Зателефонуйте до контакт-центру +38 044 364 85 10 (цілодобово).",
        Locale.EN: "None of your policies is in force today (expired or suspended). "
        "Call the contact centre at +38 044 364 85 10 (24/7).",
    },
    "error.transition_not_allowed": {
        Locale.UK: "Заявка зараз у статусі «{status}», тому цю дію виконати не можна.",
        Locale.EN: "The request is now “{status}”, so this cannot be done.",
    },
    "error.request_closed": {
        Locale.UK: "Заявку закрито (статус «{status}»). Якщо потрібно, створіть нову.",
        Locale.EN: "The request is closed (“{status}”); file a new one if needed.",
    },
    "error.invalid_credentials": {
        Locale.UK: "Неправильна електронна адреса або пароль.",
        Locale.EN: "Wrong email or password.",
    },
    "error.wrong_password": {
        Locale.UK: "Неправильний пароль.",
        Locale.EN: "Wrong password.",
    },
    "error.token_expired": {
        Locale.UK: "Посилання недійсне або строк його дії минув. Запросіть новий лист.",
        Locale.EN: "This link is invalid or has expired. Please request a new email.",
    },
    "error.email_not_confirmed": {
        Locale.UK: "Електронну адресу ще не підтверджено. Перейдіть за посиланням з листа "
        "або запросіть новий лист.",
        Locale.EN: "Your email address is not confirmed yet. Follow the link in our email "
        "or request a new one.",
    },
    # Field errors
    "field.required": {
        Locale.UK: "Заповніть це поле.",
        Locale.EN: "This field is required.",
    },
    "field.email_invalid": {
        Locale.UK: "Введіть електронну адресу у форматі name@example.com.",
        Locale.EN: "Enter an email address like name@example.com.",
    },
    "field.email_taken": {
        Locale.UK: "Обліковий запис з цією адресою вже існує.",
        Locale.EN: "An account with this address already exists.",
    },
    "field.name_invalid": {
        Locale.UK: "Використовуйте українські або латинські літери, апостроф, дефіс чи пробіл.",
        Locale.EN: "Use Ukrainian or Latin letters, an apostrophe, a hyphen or a space.",
    },
    "field.control_characters": {
        Locale.UK: "Текст містить керівні символи або символи зміни напрямку тексту. "
        "Наберіть його ще раз, не вставляючи з інших програм.",
        Locale.EN: "The text holds control characters or characters that change the text "
        "direction. Please type it again rather than pasting it.",
    },
    "field.idempotency_key_invalid": {
        Locale.UK: "Ключ ідемпотентності має містити від 8 до 128 символів: латинські літери, "
        "цифри, «_» або «-».",
        Locale.EN: "The idempotency key must be 8 to 128 characters: Latin letters, digits, "
        "'_' or '-'.",
    },
    "field.too_long": {
        Locale.UK: "Не більше {max_length} символів.",
        Locale.EN: "At most {max_length} characters.",
    },
    "field.birth_date_in_future": {
        Locale.UK: "Дата народження не може бути в майбутньому.",
        Locale.EN: "The date of birth cannot be in the future.",
    },
    "field.birth_date_too_old": {
        Locale.UK: "Перевірте рік народження: він не може бути раніше {year} року.",
        Locale.EN: "Please check the year of birth: it is before {year}.",
    },
    "field.contact_invalid": {
        Locale.UK: "Введіть мобільний телефон у форматі +380XXXXXXXXX або електронну адресу.",
        Locale.EN: "Enter a mobile phone as +380XXXXXXXXX or an email address.",
    },
    "field.phone_not_ukrainian_mobile": {
        Locale.UK: "Потрібен український мобільний номер у форматі +380XXXXXXXXX.",
        Locale.EN: "A Ukrainian mobile number is needed, as +380XXXXXXXXX.",
    },
    "field.phone_taken": {
        Locale.UK: "Цей номер уже підтверджено в іншому обліковому записі. Зателефонуйте до "
        "контакт-центру +38 044 364 85 10 (цілодобово), і ми допоможемо.",
        Locale.EN: "This number is already confirmed on another account. Please call the contact "
        "centre at +38 044 364 85 10 (24/7) and we will help.",
    },
    "error.contact_already_verified": {
        Locale.UK: "Цей контакт уже підтверджено, новий код не потрібен.",
        Locale.EN: "This contact is already confirmed; no new code is needed.",
    },
    "field.contact_already_verified": {
        Locale.UK: "Цей контакт уже додано й підтверджено.",
        Locale.EN: "This contact is already added and confirmed.",
    },
    "field.too_many_contacts": {
        Locale.UK: "Можна мати не більше {max_contacts} контактів. Видаліть непотрібні.",
        Locale.EN: "You can have at most {max_contacts} contacts. Remove ones you no longer use.",
    },
    "field.postal_code_invalid": {
        Locale.UK: "Поштовий індекс складається з 5 цифр.",
        Locale.EN: "A postal code has 5 digits.",
    },
    "field.file_too_large": {
        Locale.UK: "Файл завеликий: не більше {max_mb} МБ.",
        Locale.EN: "The file is too large: at most {max_mb} MB.",
    },
    "field.file_unreadable": {
        Locale.UK: "Не вдалося прочитати файл: потрібен CSV або JSON у кодуванні UTF-8.",
        Locale.EN: "The file could not be read: CSV or JSON in UTF-8 is expected.",
    },
    "field.too_many_rows": {
        Locale.UK: "Забагато рядків: не більше {max_rows} за раз.",
        Locale.EN: "Too many rows: at most {max_rows} at a time.",
    },
    "field.date_invalid": {
        Locale.UK: "Дата має бути у форматі РРРР-ММ-ДД або ДД.ММ.РРРР.",
        Locale.EN: "The date must be YYYY-MM-DD or DD.MM.YYYY.",
    },
    "field.choice_invalid": {
        Locale.UK: "Невідоме значення. Можливі: {allowed}.",
        Locale.EN: "Unknown value. Allowed: {allowed}.",
    },
    "field.policy_number_invalid": {
        Locale.UK: "Номер поліса: латинські літери, цифри, дефіс, крапка або скісна риска.",
        Locale.EN: "Policy number: Latin letters, digits, hyphen, dot or slash.",
    },
    "field.valid_to_before_valid_from": {
        Locale.UK: "Дата закінчення дії не може передувати даті її початку.",
        Locale.EN: "The end date is before the start date.",
    },
    "field.files_required": {
        Locale.UK: "Додайте щонайменше один документ (скан або фото).",
        Locale.EN: "Attach at least one document (a scan or a photo).",
    },
    "field.too_many_files": {
        Locale.UK: "Не більше {max_files} файлів.",
        Locale.EN: "At most {max_files} files.",
    },
    "field.file_type_not_allowed": {
        Locale.UK: "Приймаємо лише файли PDF, JPEG, PNG або HEIC.",
        Locale.EN: "Only PDF, JPEG, PNG or HEIC files are accepted.",
    },
    "field.window_invalid": {
        Locale.UK: "Проміжок має починатися раніше, ніж закінчується, і бути в майбутньому.",
        Locale.EN: "The window must start before it ends, and both must be in the future.",
    },
    "field.windows_required": {
        Locale.UK: "Вкажіть хоча б один зручний час.",
        Locale.EN: "Give at least one convenient time.",
    },
    "field.too_many_items": {
        Locale.UK: "Не більше {max_items} позицій.",
        Locale.EN: "At most {max_items} entries.",
    },
    "field.items_required": {
        Locale.UK: "Додайте хоча б одну позицію.",
        Locale.EN: "Add at least one entry.",
    },
    "field.quantity_invalid": {
        Locale.UK: "Кількість: ціле число від 1 до {max_quantity}.",
        Locale.EN: "Quantity: a whole number from 1 to {max_quantity}.",
    },
    "field.address_required": {
        Locale.UK: "Для візиту додому оберіть одну зі своїх адрес.",
        Locale.EN: "For a home visit, choose one of your addresses.",
    },
    "field.address_unknown": {
        Locale.UK: "Такої адреси немає у вашому профілі.",
        Locale.EN: "There is no such address in your profile.",
    },
    "field.amount_invalid": {
        Locale.UK: "Сума: число більше нуля, не більше двох знаків після коми, напр. 1250.50.",
        Locale.EN: "Amount: a number above zero with at most two decimals, e.g. 1250.50.",
    },
    "field.currency_invalid": {
        Locale.UK: "Валюта: {allowed}.",
        Locale.EN: "Currency: {allowed}.",
    },
    "field.service_date_in_future": {
        Locale.UK: "Дата послуги не може бути в майбутньому.",
        Locale.EN: "The service date cannot be in the future.",
    },
    "field.service_date_outside_policy": {
        Locale.UK: "Дата послуги поза строком дії поліса ({valid_from} – {valid_to}).",
        Locale.EN: "The service date is outside the policy's validity ({valid_from} – {valid_to}).",
    },
    "field.iban_invalid": {
        Locale.UK: "Перевірте IBAN: український IBAN має 29 символів і починається з UA.",
        Locale.EN: "Please check the IBAN: a Ukrainian IBAN has 29 characters and starts with UA.",
    },
    "field.iban_checksum_invalid": {
        Locale.UK: "Контрольна сума IBAN не збігається: імовірно, у номері помилка в одній із "
        "цифр. Звірте його з випискою або договором банку.",
        Locale.EN: "The IBAN's check digits do not match: a digit is probably mistyped. "
        "Compare it with your bank statement or contract.",
    },
    "field.phone_required": {
        Locale.UK: "Вкажіть телефон або підтвердьте його в профілі.",
        Locale.EN: "Give a phone number or confirm one in your profile.",
    },
    "field.scheduled_at_required": {
        Locale.UK: "Для статусу «Заплановано» вкажіть дату й час у майбутньому.",
        Locale.EN: "For “scheduled”, give a date and time in the future.",
    },
    "field.status_not_announced": {
        Locale.UK: "Про подання заявки повідомлень немає: ви подаєте її самі.",
        Locale.EN: "Filing is not announced: you file the request yourself.",
    },
    "field.password_too_short": {
        Locale.UK: "Пароль має містити щонайменше {min_length} символів.",
        Locale.EN: "The password must be at least {min_length} characters long.",
    },
    "field.password_too_long": {
        Locale.UK: "Пароль має містити не більше {max_length} символів.",
        Locale.EN: "The password must be at most {max_length} characters long.",
    },
    "field.password_not_latin": {
        Locale.UK: "Пароль може містити лише латинські літери, цифри та символи, без пробілів.",
        Locale.EN: "The password may contain only Latin letters, digits and symbols, no spaces.",
    },
    "field.password_needs_uppercase": {
        Locale.UK: "Пароль має містити хоча б одну велику латинську літеру.",
        Locale.EN: "The password must contain at least one capital Latin letter.",
    },
    "field.password_needs_digit": {
        Locale.UK: "Пароль має містити хоча б одну цифру.",
        Locale.EN: "The password must contain at least one digit.",
    },
    "field.passwords_do_not_match": {
        Locale.UK: "Паролі не збігаються. Введіть той самий пароль двічі.",
        Locale.EN: "The passwords do not match. Type the same password twice.",
    },
    "field.password_same_as_current": {
        Locale.UK: "Новий пароль має відрізнятися від поточного.",
        Locale.EN: "The new password must differ from the current one.",
    },
    # Success messages
    "account.registered": {
        Locale.UK: "Ми надіслали лист на {email}. Перейдіть за посиланням у листі, щоб "
        "підтвердити адресу. Якщо листа немає, перевірте спам або запросіть його ще раз.",
        Locale.EN: "We have sent an email to {email}. Follow the link in it to confirm the "
        "address. If it has not arrived, check the spam folder or request it again.",
    },
    "account.confirmation_resent": {
        Locale.UK: "Якщо для {email} є непідтверджений обліковий запис, ми надіслали новий лист.",
        Locale.EN: "If {email} has an unconfirmed account, we have sent a new email.",
    },
    "account.reset_requested": {
        Locale.UK: "Якщо для {email} є обліковий запис, ми надіслали лист із посиланням для "
        "зміни пароля.",
        Locale.EN: "If {email} has an account, we have sent an email with a link to reset "
        "the password.",
    },
    "account.password_changed": {
        Locale.UK: "Пароль змінено. Інші сеанси завершено.",
        Locale.EN: "Your password has been changed. Other sessions have been signed out.",
    },
    "account.deleted": {
        Locale.UK: "Обліковий запис видалено: ваші персональні дані стерто, усі сеанси "
        "завершено. Заявки збережено знеособленими для обліку страховика.",
        Locale.EN: "The account was deleted: your personal data was erased and every session "
        "ended. Your requests are kept without personal data for the insurer's records.",
    },
    # Emails
    "policy.lookup.no_verified_phone": {
        Locale.UK: "Додайте та підтвердьте номер мобільного телефону, який ви надали страховій "
        "компанії: за ним ми знайдемо ваші страхові картки.",
        Locale.EN: "Add and confirm the mobile number you gave the insurance company: we find "
        "your insurance cards by it.",
    },
    "policy.lookup.no_card_found": {
        Locale.UK: "За вашим номером страхових карток не знайдено. Зателефонуйте до контакт-центру "
        "+38 044 364 85 10 (цілодобово) або напишіть на support@smart-assist.in.ua, вказавши "
        "номер поліса, номер телефону та ПІБ. Після оновлення даних картки з'являться тут.",
        Locale.EN: "No insurance cards were found for your number. Call the contact centre at "
        "+38 044 364 85 10 (24/7) or write to support@smart-assist.in.ua with your policy number, "
        "phone number and full name. Once we update your data, the cards will appear here.",
    },
    "policy.lookup.no_card_in_force": {
        Locale.UK: "Ваші страхові картки сьогодні не діють: строк дії минув або дію "
        "призупинено. Зателефонуйте до контакт-центру +38 044 364 85 10 (цілодобово), щоб "
        "дізнатися про поновлення; нова картка з'явиться тут.",
        Locale.EN: "Your insurance cards are not in force today: they have expired or are "
        "suspended. Call the contact centre at +38 044 364 85 10 (24/7) about a renewal; a new "
        "card will appear here.",
    },
    "status.submitted": {
        Locale.UK: "подано",
        Locale.EN: "submitted",
    },
    "status.in_progress": {
        Locale.UK: "у роботі",
        Locale.EN: "in progress",
    },
    "status.needs_info": {
        Locale.UK: "потрібна інформація від вас",
        Locale.EN: "needs information from you",
    },
    "status.scheduled": {
        Locale.UK: "заплановано",
        Locale.EN: "scheduled",
    },
    "status.approved": {
        Locale.UK: "погоджено",
        Locale.EN: "approved",
    },
    "status.completed": {
        Locale.UK: "виконано",
        Locale.EN: "completed",
    },
    "status.rejected": {
        Locale.UK: "відхилено",
        Locale.EN: "rejected",
    },
    "status.cancelled": {
        Locale.UK: "скасовано",
        Locale.EN: "cancelled",
    },
    "sms.request_status": {
        Locale.UK: "Заявка {number}: {status}.{comment} Деталі в кабінеті.",
        Locale.EN: "Request {number}: {status}.{comment} Details in the cabinet.",
    },
    "email.request_status.subject": {
        Locale.UK: "Заявка {number}: {status}",
        Locale.EN: "Request {number}: {status}",
    },
    "email.request_status.body": {
        Locale.UK: "Вітаємо!\n\nСтатус вашої заявки {number} змінено: {status}.{comment}\n\n"
        "Подробиці та листування — у розділі «Заявки» персонального кабінету.",
        Locale.EN: "Hello!\n\nThe status of your request {number} has changed: {status}.{comment}"
        "\n\nDetails and messages are in the Requests section of the cabinet.",
    },
    "email.signature": {
        Locale.UK: "Контакт-центр (24/7): +38 044 364 85 10\nТехнічна підтримка: "
        "it.support@smart-assist.in.ua",
        Locale.EN: "Contact centre (24/7): +38 044 364 85 10\nTechnical support: "
        "it.support@smart-assist.in.ua",
    },
    "email.contact_code.subject": {
        Locale.UK: "Код підтвердження електронної адреси",
        Locale.EN: "Your email confirmation code",
    },
    "email.contact_code.body": {
        Locale.UK: "Вітаємо!\n\nВаш код підтвердження: {code}\n\nВведіть його в кабінеті. Код "
        "дійсний {minutes} хв. Нікому його не повідомляйте.",
        Locale.EN: "Hello!\n\nYour confirmation code: {code}\n\nEnter it in the cabinet. The code "
        "is valid for {minutes} min. Do not share it with anyone.",
    },
    "sms.contact_code": {
        Locale.UK: "Код підтвердження: {code}. Дійсний {minutes} хв. Нікому не повідомляйте.",
        Locale.EN: "Confirmation code: {code}. Valid for {minutes} min. Do not share it.",
    },
    "email.confirm.subject": {
        Locale.UK: "Підтвердіть електронну адресу для персонального кабінету",
        Locale.EN: "Confirm your email address for the personal cabinet",
    },
    "email.confirm.body": {
        Locale.UK: "Вітаємо!\n\nЩоб завершити реєстрацію в персональному кабінеті, перейдіть за "
        "посиланням, введіть свій пароль і натисніть «Відправити»:\n\n{link}\n\nПосилання дійсне "
        "{hours} год. Якщо ви не реєструвалися, просто проігноруйте цей лист.",
        Locale.EN: "Hello!\n\nTo finish registering in the personal cabinet, follow the link, "
        'enter your password and press "Send":\n\n{link}\n\nThe link is valid for {hours} h. '
        "If you did not register, simply ignore this email.",
    },
    "email.already_registered.subject": {
        Locale.UK: "Спроба повторної реєстрації",
        Locale.EN: "Someone tried to register with your address",
    },
    "email.already_registered.body": {
        Locale.UK: "Вітаємо!\n\nХтось намагався зареєструватися в персональному кабінеті з вашою "
        "адресою {email}, але обліковий запис уже існує. Якщо це були ви, просто увійдіть; якщо "
        "забули пароль, задайте новий за посиланням (дійсне {minutes} хв):\n\n{link}\n\n"
        "Якщо це були не ви, нічого робити не потрібно.",
        Locale.EN: "Hello!\n\nSomeone tried to register in the personal cabinet with your "
        "address {email}, but the account already exists. If it was you, simply sign in; if you "
        "forgot the password, set a new one with this link (valid for {minutes} min):\n\n"
        "{link}\n\nIf it was not you, there is nothing to do.",
    },
    "email.reset.subject": {
        Locale.UK: "Зміна пароля до персонального кабінету",
        Locale.EN: "Reset your personal cabinet password",
    },
    "email.reset.body": {
        Locale.UK: "Вітаємо!\n\nЩоб задати новий пароль, перейдіть за посиланням:\n\n{link}\n\n"
        "Посилання дійсне {minutes} хв. Якщо ви не просили змінити пароль, проігноруйте цей лист.",
        Locale.EN: "Hello!\n\nTo set a new password, follow the link:\n\n{link}\n\nThe link is "
        "valid for {minutes} min. If you did not ask to reset the password, ignore this email.",
    },
    "email.login_attempts.subject": {
        Locale.UK: "Хтось намагається увійти до вашого кабінету",
        Locale.EN: "Someone is trying to sign in to your account",
    },
    "email.login_attempts.body": {
        Locale.UK: "Вітаємо!\n\nЗа останні {minutes} хв до вашого персонального кабінету "
        "спробували увійти з неправильним паролем понад {attempts} разів. Обліковий запис не "
        "заблоковано: ви, як і раніше, можете увійти зі своїм паролем. Якщо це були не ви, "
        "переконайтеся, що пароль надійний і ніде більше не використовується, а за потреби "
        "змініть його тут:\n\n{link}",
        Locale.EN: "Hello!\n\nIn the last {minutes} minutes there were more than {attempts} "
        "attempts to sign in to your personal cabinet with a wrong password. The account is not "
        "locked: you can still sign in with your password. If it was not you, make sure the "
        "password is strong and used nowhere else, and change it here if needed:\n\n{link}",
    },
    "email.password_changed.subject": {
        Locale.UK: "Пароль до персонального кабінету змінено",
        Locale.EN: "Your personal cabinet password was changed",
    },
    "email.password_changed.body": {
        Locale.UK: "Вітаємо!\n\nПароль до вашого кабінету щойно змінено. Якщо це були не ви, "
        "негайно відновіть пароль і зверніться до контакт-центру.",
        Locale.EN: "Hello!\n\nThe password of your cabinet was just changed. If it was not you, "
        "reset the password at once and call the contact centre.",
    },
    # The pages behind the emailed links (kabinet/pages.py)
    "page.confirm.title": {
        Locale.UK: "Підтвердження електронної адреси",
        Locale.EN: "Confirm your email address",
    },
    "page.confirm.hint": {
        Locale.UK: "Введіть пароль, який ви вказали під час реєстрації, і натисніть «Відправити».",
        Locale.EN: 'Enter the password you chose when registering and press "Send".',
    },
    "page.confirm.password": {
        Locale.UK: "Пароль",
        Locale.EN: "Password",
    },
    "page.confirm.submit": {
        Locale.UK: "Відправити",
        Locale.EN: "Send",
    },
    "page.reset.title": {
        Locale.UK: "Новий пароль",
        Locale.EN: "New password",
    },
    "page.reset.hint": {
        Locale.UK: "Придумайте новий пароль і введіть його двічі.",
        Locale.EN: "Choose a new password and type it twice.",
    },
    "page.reset.password": {
        Locale.UK: "Новий пароль",
        Locale.EN: "New password",
    },
    "page.reset.submit": {
        Locale.UK: "Зберегти пароль",
        Locale.EN: "Save the password",
    },
    "page.password_again": {
        Locale.UK: "Пароль ще раз",
        Locale.EN: "Password again",
    },
    "page.signed_in": {
        Locale.UK: "Готово, ви увійшли як {email}. Токен для заголовка Authorization: "
        "Bearer {token}",
        Locale.EN: "Done, you are signed in as {email}. Token for the Authorization header: "
        "Bearer {token}",
    },
    "page.unreachable": {
        Locale.UK: "Не вдалося зв'язатися із сервером. Перевірте з'єднання та спробуйте ще раз.",
        Locale.EN: "Could not reach the server. Check the connection and try again.",
    },
}


class Phrase:
    """A message parameter worded in the message's language when it is translated."""

    def worded(self, locale: Locale) -> str:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Term(Phrase):
    """A parameter that is itself a message, e.g. a status's label instead of its enum name."""

    key: str

    def worded(self, locale: Locale) -> str:
        return translate(self.key, locale)


# After "через" Ukrainian takes the accusative: одну хвилину, дві хвилини, п'ять хвилин.
_UNITS: dict[Locale, dict[str, tuple[str, ...]]] = {
    Locale.UK: {
        "second": ("секунду", "секунди", "секунд"),
        "minute": ("хвилину", "хвилини", "хвилин"),
        "hour": ("годину", "години", "годин"),
    },
    Locale.EN: {
        "second": ("second", "seconds"),
        "minute": ("minute", "minutes"),
        "hour": ("hour", "hours"),
    },
}


def count_of(number: int, unit: str, locale: Locale) -> str:
    """``number`` with ``unit`` in the plural form the language wants: 1 хвилину, 3 хвилини,
    5 хвилин, 11 хвилин, 21 хвилину; 1 minute, 2 minutes."""
    forms = _UNITS[locale][unit]
    if locale is Locale.EN:
        return f"{number} {forms[0] if number == 1 else forms[1]}"
    if number % 10 == 1 and number % 100 != 11:
        form = forms[0]
    elif 2 <= number % 10 <= 4 and not 12 <= number % 100 <= 14:
        form = forms[1]
    else:
        form = forms[2]
    return f"{number} {form}"


@dataclass(frozen=True, slots=True)
class Wait(Phrase):
    """A wait in words, rounded up to what a person reads: seconds under a minute, minutes
    under an hour, then hours and minutes ("1 годину 5 хвилин")."""

    seconds: int

    def worded(self, locale: Locale) -> str:
        if self.seconds < 60:
            return count_of(max(1, self.seconds), "second", locale)
        minutes = math.ceil(self.seconds / 60)
        if minutes < 60:
            return count_of(minutes, "minute", locale)
        hours, minutes = divmod(minutes, 60)
        words = count_of(hours, "hour", locale)
        return f"{words} {count_of(minutes, 'minute', locale)}" if minutes else words


def translate(key: str, locale: Locale, **params: object) -> str:
    """The message ``key`` in ``locale``, with ``params`` filled in (phrases worded in it)."""
    worded = {
        name: value.worded(locale) if isinstance(value, Phrase) else value
        for name, value in params.items()
    }
    return MESSAGES[key][locale].format(**worded)


def negotiate_locale(accept_language: str | None) -> Locale:
    """The first supported language of an ``Accept-Language`` header, by quality."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for negative_quality, _, tag in sorted(ranked):
        language = tag.split("-")[0]
        if negative_quality < 0 and language in Locale._value2member_map_:
            return Locale(language)
    return DEFAULT_LOCALE
